"""socialsell/cli/plain_table.py writes a one-line table without rich: character for character
what rich writes (cli.common.rich_table), in and out of a terminal, or nothing (None) when it
cannot be sure, and then rich draws it. Each case renders both ways and compares."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from socialsell.cli import plain_table
from socialsell.cli.common import print_table, rich_table

COLUMNS = ["id", "due", "p", "score", "who", "why"]
ROWS = [
    [581, "OVERDUE Tue 02 Jun 16:59", 1, "40", "Person 3438 (Company 438)", 'reply: "interesting, what does it cost for 20 seats?"'],
    [12, "Wed 03 Jun 09:00", 4, "7", None, ""],
    [4227, "due in 2h", 2, "13", "Dana Whitfield-Okonkwo (Very Long Company Name Holdings)", "like on sandbox"],
]
WIDE = [  # wide, zero-width and combining characters: rich's own cell widths decide
    [1, "今日 10:00", 1, "9", "山田 太郎 (株式会社テスト)", "「価格はいくらですか？」と返信"],
    [2, "mañana", 2, "5", "Zoë Ångström", "e\u0301 combining, café"],
    [3, "🙂", 3, "1", "emoji 🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀", "x"],
]
ENVS = {  # what rich reads to decide the width and whether it writes to a terminal
    "pipe": {},
    "pipe, 200 columns": {"COLUMNS": "200"},
    "pipe, 60 columns (too narrow: rich shrinks the columns)": {"COLUMNS": "60"},
    "FORCE_COLOR": {"FORCE_COLOR": "1", "COLUMNS": "100"},
    "FORCE_COLOR empty": {"FORCE_COLOR": "", "COLUMNS": "100"},
    "FORCE_COLOR, NO_COLOR": {"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": "90"},
    "TTY_COMPATIBLE=1": {"TTY_COMPATIBLE": "1", "COLUMNS": "120"},
    "TTY_COMPATIBLE=0 wins": {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"},
    "dumb terminal": {"TERM": "dumb", "FORCE_COLOR": "1", "COLUMNS": "150"},
    "dumb terminal, COLUMNS and LINES": {"TERM": "unknown", "FORCE_COLOR": "1", "COLUMNS": "150", "LINES": "20"},
    "dumb pipe": {"TERM": "dumb", "COLUMNS": "150"},
}
RICH_ENV = ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TERM", "TTY_INTERACTIVE")


def _both(capsys, columns, rows, title):
    print_table(columns, rows, title=title, one_line=True)
    ours = capsys.readouterr().out
    rich_table(columns, [["" if v is None else str(v) for v in r] for r in rows], title=title, one_line=True)
    return ours, capsys.readouterr().out


def _env(monkeypatch, env):
    for name in RICH_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("env", ENVS.values(), ids=ENVS.keys())
@pytest.mark.parametrize("rows", [ROWS, WIDE], ids=["ascii", "wide"])
def test_a_one_line_table_is_what_rich_writes(capsys, monkeypatch, env, rows):
    _env(monkeypatch, env)
    ours, theirs = _both(capsys, COLUMNS, rows, "follow-ups for alice (times in Europe/Berlin)")
    assert ours == theirs
    drawn = plain_table.render(COLUMNS, [[str(v) for v in r] for r in rows], "t")
    assert (drawn is None) == (rows is WIDE and env.get("COLUMNS") == "60")  # drawn without rich unless too narrow


@pytest.mark.parametrize("columns, rows, title", [
    (["id"], [[1], [22]], None),  # one column: no bars, no padding
    (["id", "name"], [[1, "x" * 30]], "a title as wide as its table, 35 ch"),
    (["id", "name"], [[1, "x" * 30]], "  leading spaces stay, trailing go   "),
    (["followers", "description"], [[5, "y" * 300], [6, "z"]], ""),  # a header cut with "…"
], ids=["one column", "title as wide as the table", "title spaces", "header cut"])
def test_edges_of_the_layout_are_what_rich_writes(capsys, monkeypatch, columns, rows, title):
    _env(monkeypatch, {"COLUMNS": "80", "FORCE_COLOR": "1"})
    ours, theirs = _both(capsys, columns, rows, title)
    assert ours == theirs
    assert plain_table.render(columns, [[str(v) for v in r] for r in rows], title) is not None


@pytest.mark.parametrize("columns, rows, title, env", [
    (["id", "why"], [[1, "two\nlines"]], None, {}),
    (["id", "why"], [[1, "a\ttab"]], None, {}),
    (["id", "why"], [[1, "\x1b[31mred"]], None, {}),
    (["id", "[b]why[/b]"], [[1, "x"]], None, {}),  # a header is markup to rich
    (["id", "why"], [[1, "x"]], "a title much longer than the narrow table it is over", {}),
    (["a", "b", "c", "d", "e", "f"], [["x" * 30] * 6], None, {"COLUMNS": "40"}),  # wider than the console
], ids=["line break", "tab", "escape", "markup header", "long title", "too wide"])
def test_what_only_rich_can_draw_is_left_to_rich(capsys, monkeypatch, columns, rows, title, env):
    _env(monkeypatch, env)
    assert plain_table.render(columns, [[str(v) for v in r] for r in rows], title) is None
    ours, theirs = _both(capsys, columns, rows, title)
    assert ours == theirs


PTY_SCRIPT = """
import sys
from socialsell.cli.common import print_table, rich_table
cols = %r
rows = %r
print_table(cols, rows, title="follow-ups", one_line=True)
print("=====", flush=True)
rich_table(cols, [[str(v) for v in r] for r in rows], title="follow-ups", one_line=True)
"""


@pytest.mark.parametrize("columns", [None, "50"], ids=["terminal size", "COLUMNS"])
def test_in_a_real_terminal_too(columns):
    """On a pseudo-terminal (isatty, its own size) the header is bold in both."""
    master, slave = pty.openpty()
    os.set_blocking(master, True)
    env = {k: v for k, v in os.environ.items() if k not in RICH_ENV} | {"TERM": "xterm-256color"}
    if columns:
        env["COLUMNS"] = columns
    proc = subprocess.Popen([sys.executable, "-c", PTY_SCRIPT % (COLUMNS, [[str(v) for v in r] for r in ROWS])],
                            stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    os.close(master)
    ours, theirs = out.decode().replace("\r\n", "\n").split("=====\n")
    assert "\x1b[1mid" in ours  # a terminal: the header in bold
    assert ours == theirs
