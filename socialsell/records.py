"""Classes declared like dataclasses, without generating code at import.

``dataclasses.dataclass`` writes the source of each class's ``__init__``, ``__repr__`` and
``__eq__`` and compiles it with ``exec``: on Python 3.11 about half a millisecond a class, on
every start. The read commands (``tasks --json``, ``contacts --json``) define about 25 such
classes before they read a row (the typed settings, the workspace, the CLI's state): 13 ms of
the ~40 ms they may spend over the ``import click, sqlalchemy`` floor (docs/architecture.md
"Targets", measured with ``-X importtime`` by bench/bench_read.py).

:func:`record` gives a class the same behaviour from functions shared by every record, which
read the class's field list: the constructor (positional or keyword arguments, defaults,
``field(default_factory=...)``, ``__post_init__``), ``repr`` (``field(repr=False)`` leaves a
field out; a cycle prints ``...``), equality over the fields, and with ``frozen=True`` instances
that refuse changes and hash by their fields. Type checkers read it as a dataclass
(``typing.dataclass_transform``).

What it does not give: ``dataclasses.fields()``, ``replace()`` and ``asdict()`` (the types
plugins receive, in socialsell.api, stay real dataclasses for that), ordering, slots, and the
other ``field()`` options, which it refuses when the class is defined.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, field
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["field", "record"]

T = TypeVar("T", bound=type)


class _Spec:
    """One field of a record (a plain class: a NamedTuple would be generated with exec too)."""

    __slots__ = ("name", "default", "factory", "shown")

    def __init__(self, name: str, default: Any, factory: Any, shown: bool):
        self.name = name
        self.default = default  # MISSING: none
        self.factory = factory  # MISSING: none
        self.shown = shown  # in repr


@overload
def record(cls: T, /) -> T: ...


@overload
def record(*, frozen: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(field_specifiers=(field,))
def record(cls: Any = None, /, *, frozen: bool = False) -> Any:
    """``@record`` or ``@record(frozen=True)`` on a class written as for ``@dataclass``."""

    def make(cls: T) -> T:
        return _make(cls, frozen)

    return make if cls is None else make(cls)


def _make(cls: T, frozen: bool) -> T:
    specs = {s.name: s for s in getattr(cls, "__record_fields__", ())}  # a record's subclass adds to its fields
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if str(annotation).startswith(("ClassVar", "typing.ClassVar", "InitVar", "dataclasses.InitVar")):
            raise TypeError(f"{cls.__name__}.{name}: ClassVar and InitVar need a real dataclass")
        value = cls.__dict__.get(name, MISSING)
        if isinstance(value, Field):
            _refuse_options(cls, name, value)
            specs[name] = _Spec(name, value.default, value.default_factory, value.repr)
            if value.default is MISSING:
                delattr(cls, name)  # as a dataclass: no class attribute for a field without a default
            else:
                setattr(cls, name, value.default)
        else:
            specs[name] = _Spec(name, value, MISSING, True)
    fields = tuple(specs.values())
    _check_order(cls, fields)
    cls.__record_fields__ = fields  # type: ignore[attr-defined]
    cls.__match_args__ = tuple(specs)  # type: ignore[attr-defined]
    for name, method in (("__init__", _init), ("__repr__", _repr), ("__eq__", _eq)):
        if name not in cls.__dict__:
            setattr(cls, name, method)
    if frozen:
        cls.__setattr__ = _frozen_setattr  # type: ignore[assignment,method-assign]
        cls.__delattr__ = _frozen_delattr  # type: ignore[assignment,method-assign]
    # a dataclass's rule: a hash written in the class stays; else frozen records hash by their
    # fields, and mutable ones, equal by value, are unhashable (Python sets __hash__ to None in
    # a class that defines __eq__, which does not count as written)
    class_hash = cls.__dict__.get("__hash__", MISSING)
    if class_hash is MISSING or (class_hash is None and "__eq__" in cls.__dict__):
        cls.__hash__ = _hash if frozen else None  # type: ignore[assignment,method-assign]
    return cls


def _refuse_options(cls: type, name: str, f: Field[Any]) -> None:
    if not f.init or not f.compare or f.hash is not None or f.kw_only not in (MISSING, False) or f.metadata:
        raise TypeError(f"{cls.__name__}.{name}: a record's field() takes default, default_factory and repr only")


def _check_order(cls: type, specs: tuple[_Spec, ...]) -> None:
    seen_default = False
    for s in specs:
        has_default = s.default is not MISSING or s.factory is not MISSING
        if seen_default and not has_default:
            raise TypeError(f"{cls.__name__}: non-default argument {s.name!r} follows default argument")
        seen_default = seen_default or has_default


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    specs: tuple[_Spec, ...] = cls.__record_fields__
    if len(args) > len(specs):
        raise TypeError(f"{cls.__name__}.__init__() takes {len(specs) + 1} positional arguments but {len(args) + 1} were given")
    put = object.__setattr__  # works on a frozen record too
    for i, s in enumerate(specs):
        if i < len(args):
            if s.name in kwargs:
                raise TypeError(f"{cls.__name__}.__init__() got multiple values for argument {s.name!r}")
            value = args[i]
        elif s.name in kwargs:
            value = kwargs.pop(s.name)
        elif s.factory is not MISSING:
            value = s.factory()
        elif s.default is not MISSING:
            value = s.default
        else:
            raise TypeError(f"{cls.__name__}.__init__() missing 1 required argument: {s.name!r}")
        put(self, s.name, value)
    if kwargs:
        raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword argument {next(iter(kwargs))!r}")
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        post_init()


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    cls = type(self)
    shown = ", ".join(f"{s.name}={getattr(self, s.name)!r}" for s in cls.__record_fields__ if s.shown)
    return f"{cls.__qualname__}({shown})"


def _values(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, s.name) for s in type(self).__record_fields__)


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self: Any) -> int:
    return hash(_values(self))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")
