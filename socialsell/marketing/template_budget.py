"""A time and size budget for rendering templates.

Jinja2's sandbox keeps a template away from Python's internals, but not from exhausting the
machine: ``{{ 9 ** 99999999 }}``, ``{{ 'a' * 2000000000 }}`` or loops nested over large ranges
would hang ``post new`` or end it in a MemoryError. :class:`BudgetedEnvironment` refuses the
operations that build a huge value *before* they run (powers, repetitions, widths in format
strings, padding methods and filters), checks the size of every value the template computes,
caps the output, and stops a render that takes longer than :data:`TIME_BUDGET` seconds.
"""

from __future__ import annotations

import ctypes
import functools
import re
import threading
import time
from collections.abc import Iterable
from typing import Any

from jinja2 import Environment
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

#: seconds a render may take (a brand post renders in well under a millisecond)
TIME_BUDGET = 2.0
#: most characters a render may produce; no network takes a post near this long
MAX_OUTPUT = 100_000
#: most items (characters, list items) any value computed by a template may have
MAX_VALUE = 1_000_000
#: largest whole number a template may compute (in bits)
MAX_INT_BITS = 4096
#: largest number a template may pass to a string method or filter (a width, a count)
MAX_ARGUMENT = 10_000

#: ``%`` conversions with a width or precision from the arguments (``*``) or of six digits or more
_PERCENT_WIDTH = re.compile(r"%[-#0 +]*(\*|\d{5,})|%[-#0 +]*\d*\.(\*|\d{5,})")
#: ``str.format`` fields with a nested (dynamic) width or one of five digits or more
_FORMAT_WIDTH = re.compile(r"\{[^{}]*\{|\{[^{}]*?\d{5,}[^{}]*\}")


class BudgetExceeded(Exception):
    """The template tried to build something too big, or took too long."""


class RenderTimeout(BudgetExceeded):
    """Raised inside the rendering thread by the watchdog."""


class Budget:
    """What one render may use."""

    def __init__(self, seconds: float = TIME_BUDGET):
        self.seconds = seconds

    def collect(self, chunks: Iterable[str]) -> str:
        """Join the render's output, within the time and size budget."""
        out: list[str] = []
        size = 0
        with _Watchdog(self.seconds):
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise BudgetExceeded(f"the output is over {MAX_OUTPUT:,} characters")
                out.append(chunk)
        return "".join(out)


class _Watchdog:
    """Raises :class:`RenderTimeout` in the rendering thread once ``seconds`` have passed.

    Jinja2 compiles a template to Python, so a runaway loop is Python bytecode: an asynchronous
    exception (``PyThreadState_SetAsyncExc``) stops it between two bytecodes, in any thread (the
    worker renders in its job threads too), where a signal could only stop the main thread.
    Single operations that could run long (a huge power, a huge repetition) are refused before
    they start by :class:`BudgetedEnvironment`.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.thread_id = threading.get_ident()
        self.lock = threading.Lock()
        self.done = False
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True

    def _fire(self) -> None:
        with self.lock:
            if not self.done:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.thread_id), ctypes.py_object(RenderTimeout))

    def __enter__(self) -> _Watchdog:
        self.started = time.monotonic()
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.done = True
            self.timer.cancel()
        if isinstance(exc[1], RenderTimeout) and not exc[1].args:  # raised by _fire: say what happened
            raise RenderTimeout(f"rendering took longer than {self.seconds:g} seconds") from None


def _size(value: Any) -> int:
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset | range):
        return len(value)
    return 0


def _check_value(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise BudgetExceeded(f"a number with more than {MAX_INT_BITS} bits is too large")
    if _size(value) > MAX_VALUE:
        raise BudgetExceeded(f"a value of more than {MAX_VALUE:,} items is too large")
    return value


def _check_arguments(what: str, args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int | float) and not isinstance(arg, bool) and abs(arg) > MAX_ARGUMENT:
            raise BudgetExceeded(f"{what}: the number {arg:g} is too large here (at most {MAX_ARGUMENT:,})")


def _check_format_string(text: Any, what: str) -> None:
    if isinstance(text, str) and (_PERCENT_WIDTH.search(text) or _FORMAT_WIDTH.search(text)):
        raise BudgetExceeded(f"{what}: a width or precision over 9999 (or taken from the values) is not allowed")


def _int_bits(value: Any) -> int:
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return value.bit_length()
    if isinstance(value, float):
        return 64
    return 0


class BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with :class:`Budget` limits on what a template may compute."""

    #: intercepted operators are also never folded at compile time (``{{ 9 ** 99999999 }}``
    #: would otherwise be computed by the compiler)
    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.budget = Budget()
        # compiled templates call filters directly, past the sandbox: guard each one
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and not isinstance(right, bool):
            base = abs(left) if isinstance(left, int | float) and not isinstance(left, bool) else 0
            if base > 1 and right > 0 and right * max(1.0, float(_int_bits(left))) > MAX_INT_BITS:
                raise BudgetExceeded(f"{left!r} ** {right!r} is too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if _size(seq) and isinstance(n, int) and not isinstance(n, bool) and _size(seq) * n > MAX_VALUE:
                    raise BudgetExceeded(f"repeating a value {n:,} times is too large")
            if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
                raise BudgetExceeded("the product is too large")
        if operator == "%" and isinstance(left, str):
            _check_format_string(left, "%")
        if operator == "+" and _size(left) + _size(right) > MAX_VALUE:
            raise BudgetExceeded(f"a value of more than {MAX_VALUE:,} items is too large")
        return _check_value(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's signature
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(owner, str | bytes | list | tuple):  # str.center(10**9), ''.format with a width...
            name = getattr(__obj, "__name__", "a method")
            _check_arguments(name, [*args, *kwargs.values()])
            if name in ("format", "format_map"):
                _check_format_string(owner, name)
            if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
                grows = (owner.count(args[0]) if args[0] else len(owner) + 1) * max(0, len(args[1]) - len(args[0]))
                if len(owner) + grows > MAX_VALUE:
                    raise BudgetExceeded("replace: the result is too large")
        return _check_value(super().call(__context, __obj, *args, **kwargs))


def _guarded_filter(name: str, func: Any) -> Any:
    """``func`` with its arguments checked first and its result checked after."""

    @functools.wraps(func)  # keeps jinja_pass_arg (pass_context and the like)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in args if not isinstance(a, Context | EvalContext | Environment)]
        value, arguments = (values[0] if values else None), [*values[1:], *kwargs.values()]
        if name == "format":
            _check_format_string(value, "format")
        else:
            _check_arguments(name, arguments)
        if name == "replace" and isinstance(value, str) and len(arguments) >= 2:
            old, new = str(arguments[0]), str(arguments[1])
            grows = (value.count(old) if old else len(value) + 1) * max(0, len(new) - len(old))
            if len(value) + grows > MAX_VALUE:
                raise BudgetExceeded("replace: the result is too large")
        return _check_value(func(*args, **kwargs))

    return guarded
