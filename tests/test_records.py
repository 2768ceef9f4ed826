"""socialsell.records: a record behaves like the dataclass written the same way (the settings,
the workspace and the CLI's state use it to keep code generation off every start; see its
docstring). Each check builds the same class both ways and compares what they do."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from socialsell.records import field, record


def _both(frozen: bool = False):
    """The same class body as a dataclass and as a record, with the same name."""

    def body():
        class Rule:
            owner: str
            channel: str | None = None
            keywords: list[str] = field(default_factory=list)
            secret: str = field(default="", repr=False)

            def label(self) -> str:
                return f"{self.owner}@{self.channel}"

        return Rule

    return dataclasses.dataclass(frozen=frozen)(body()), record(frozen=frozen)(body())


@pytest.mark.parametrize("frozen", [False, True])
def test_construction_repr_and_equality_match_a_dataclass(frozen):
    for cls in _both(frozen):
        a = cls("alice", "x", ["pricing"], "s3cret")
        b = cls(owner="alice", channel="x", keywords=["pricing"], secret="s3cret")
        assert a == b and a != cls("bob") and a.__eq__(object()) is NotImplemented
        assert "s3cret" not in repr(a) and "owner='alice', channel='x', keywords=['pricing']" in repr(a)
        assert a.label() == "alice@x"
        c, d = cls("carol"), cls("carol")
        assert c.keywords == [] and c.keywords is not d.keywords  # a fresh list from the factory each time
        assert c.channel is None and cls.channel is None  # a default is a class attribute too
        assert not hasattr(cls, "owner") and not hasattr(cls, "keywords")  # no default, or a factory: none
    dc, rec = _both(frozen)
    assert repr(dc("alice", "x")) == repr(rec("alice", "x"))  # the same qualified name and fields
    assert dc.__match_args__ == rec.__match_args__ == ("owner", "channel", "keywords", "secret")


def test_frozen_records_refuse_changes_and_hash_by_value_mutable_ones_do_not_hash():
    for cls in _both(frozen=True):
        a = cls("alice", keywords=("a",))
        with pytest.raises(dataclasses.FrozenInstanceError):
            a.owner = "bob"
        with pytest.raises(dataclasses.FrozenInstanceError):
            del a.owner
        assert hash(a) == hash(cls("alice", keywords=("a",))) and len({a, cls("alice", keywords=("a",))}) == 1
    for cls in _both(frozen=False):
        a = cls("alice")
        a.owner = "bob"
        assert a.owner == "bob"
        with pytest.raises(TypeError, match="unhashable"):
            hash(a)


def test_wrong_arguments_fail_like_a_dataclass():
    for cls in _both():
        with pytest.raises(TypeError, match="missing 1 required .*'owner'"):
            cls()
        with pytest.raises(TypeError, match="unexpected keyword argument 'owenr'"):
            cls("alice", owenr="bob")
        with pytest.raises(TypeError, match="multiple values for argument 'owner'"):
            cls("alice", owner="bob")
        with pytest.raises(TypeError, match="positional arguments but 6 were given"):
            cls("a", "b", [], "d", "e")


def test_post_init_runs_and_a_hash_written_in_the_class_stays():
    @record(frozen=True)
    class Checked:
        name: str

        def __post_init__(self) -> None:
            if not self.name:
                raise TypeError("a name, please")

        def __hash__(self) -> int:
            return 7

    assert hash(Checked("x")) == 7
    with pytest.raises(TypeError, match="a name, please"):
        Checked("")


def test_a_cycle_prints_dots_and_a_subclass_adds_fields():
    @record
    class Node:
        name: str
        other: object = None

    a = Node("a")
    a.other = Node("b", a)
    assert repr(a) == "test_a_cycle_prints_dots_and_a_subclass_adds_fields.<locals>.Node(name='a', other=" \
                      "test_a_cycle_prints_dots_and_a_subclass_adds_fields.<locals>.Node(name='b', other=...))"

    @record
    class Named(Node):
        label: str = ""

    assert Named("n", None, "l").label == "l" and Named("n") == Named("n", None, "")


def test_what_a_record_does_not_support_is_refused_when_the_class_is_defined():
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        @record
        class Order:
            a: int = 1
            b: int

    with pytest.raises(TypeError, match="default, default_factory and repr only"):
        @record
        class NoInit:
            a: int = field(default=1, init=False)

    with pytest.raises(TypeError, match="ClassVar and InitVar need a real dataclass"):
        @record
        class Counted:
            count: ClassVar[int] = 0  # noqa: F821 - a string under `from __future__ import annotations`


def test_the_read_path_defines_no_dataclass(workspace):
    """`tasks --json` defines its settings, workspace and state classes as records: a dataclass
    there would compile its methods again on every start (~0.5 ms a class, bench/bench_read.py)."""
    code = ("import sys, io, contextlib, dataclasses, inspect\n"
            "from socialsell.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(sys.argv[1:])\n    except SystemExit as e:\n        assert not e.code, e.code\n"
            "mods = ['socialsell.settings', 'socialsell.workspace', 'socialsell.timeparse', 'socialsell.cli.common']\n"
            "print(sorted(f'{m}.{n}' for m in mods for n, c in inspect.getmembers(sys.modules[m], inspect.isclass)\n"
            "             if c.__module__ == m and dataclasses.is_dataclass(c)))")
    proc = subprocess.run([sys.executable, "-c", code, "--config", str(workspace), "--as", "alice", "tasks", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
