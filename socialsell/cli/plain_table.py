"""The one-line tables of the list commands (``tasks``, ``post list``...), written without rich.

rich costs ~25 ms to import and ~22 ms to lay out 50 rows of six cells (about 70 µs a cell:
every cell goes through its padding, wrapping and cropping machinery), two thirds of what the
human ``tasks`` adds to its ``--json`` (docs/architecture.md "Targets", bench/bench_read.py).
A one-line table has fixed column widths, one line a row and plain text cells, so its output is
a few string operations. :func:`render` writes exactly what rich writes for such a table (the
title centred, the header in bold on a terminal, the HEAVY_HEAD box without edges, every cell
cut with "…" or padded to its column), and returns None for whatever only rich knows how to
draw: a table wider than the console, a cell that is not one printable line, a title longer
than the table, a non-UTF-8 console, Windows, Jupyter. The caller then draws it with rich.
tests/test_plain_table.py compares the two outputs, in and out of a terminal, for every case.

The console's width and whether it is a terminal follow rich's rules (``rich.console.Console``:
``size``, ``is_terminal``, ``is_dumb_terminal``), so both ways agree on the layout.
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Mapping, Sequence
from typing import IO

#: rich.box.HEAVY_HEAD without its edges: the header's bars, the rule under it, the rows' bars
HEAD_BAR, RULE, RULE_CROSS, ROW_BAR = "┃", "━", "╇", "│"
BOLD, RESET = "\x1b[1m", "\x1b[0m"  # rich's rendering of the header style "bold"


def console_width(environ: Mapping[str, str] = os.environ, file: IO[str] | None = None) -> int:
    """The width rich's Console gives a table: ``COLUMNS`` (with ``LINES`` it wins even on a dumb
    terminal), else 80 on a dumb terminal, else the first standard stream that is a terminal, else 80."""
    columns, lines = environ.get("COLUMNS"), environ.get("LINES")
    fixed = int(columns) if columns is not None and columns.isdigit() else None
    if fixed is not None and lines is not None and lines.isdigit():
        return fixed
    if _is_dumb(environ, file):
        return 80
    if fixed is not None:
        return fixed
    for fd in (0, 1, 2):
        try:
            width = os.get_terminal_size(fd).columns
        except (AttributeError, ValueError, OSError):  # not a terminal
            continue
        return width or 80
    return 80


def is_terminal(environ: Mapping[str, str] = os.environ, file: IO[str] | None = None) -> bool:
    """rich's ``Console.is_terminal``: ``TTY_COMPATIBLE``, then ``FORCE_COLOR``, then isatty."""
    compatible = environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    force_color = environ.get("FORCE_COLOR")
    if force_color is not None:
        return force_color != ""
    isatty = getattr(file or sys.stdout, "isatty", None)
    try:
        return False if isatty is None else bool(isatty())
    except ValueError:  # a closed file
        return False


def _is_dumb(environ: Mapping[str, str], file: IO[str] | None) -> bool:
    return environ.get("TERM", "").lower() in ("dumb", "unknown") and is_terminal(environ, file)


def one_line_widths(columns: Sequence[str], cells: Sequence[Sequence[str]], console: int) -> list[int]:
    """Each column's width for a one-line table on a console ``console`` cells wide: ids, times
    and statuses (20 characters or fewer) keep theirs, the wider ones share what is left."""
    widest = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    widths = list(widest)
    flexible = [i for i, w in enumerate(widest) if w > 20]
    room = console - sum(w for i, w in enumerate(widest) if i not in flexible) - 3 * (len(columns) - 1)
    for i in sorted(flexible, key=lambda i: widest[i]):  # narrow ones first; the rest share what is left
        share = max(8, room // len(flexible))
        widths[i] = min(widest[i], share)
        room -= widths[i]
        flexible = [j for j in flexible if j != i]
    return widths


def render(columns: Sequence[str], cells: Sequence[Sequence[str]], title: str | None,
           environ: Mapping[str, str] = os.environ, file: IO[str] | None = None) -> str | None:
    """The table as rich prints it to ``file`` (stdout), or None when only rich can draw it."""
    file = file or sys.stdout
    if not _plain_console(environ, file):
        return None
    console = console_width(environ, file)
    widths = one_line_widths(columns, cells, console)
    table_width = sum(widths) + 3 * (len(columns) - 1)
    if min(widths) < 1 or table_width > console or not all(map(_plain_header, columns)):
        return None
    if not (title or "").isprintable() or not all(cell.isprintable() for row in cells for cell in row):
        return None  # a line break, a tab or a control character: rich's Text handles those
    lines = []
    if title:
        title = title.rstrip()
        excess = table_width - _cell_len(title)
        if excess < 0:  # rich would wrap it
            return None
        lines.append(" " * (excess // 2) + title + " " * (excess - excess // 2))
    styled = is_terminal(environ, file) and not _is_dumb(environ, file)
    last = len(columns) - 1
    head = [_pad(c, w) for c, w in zip(columns, widths, strict=True)]
    if styled:  # rich styles the cell and each padding space as their own segments
        b = (BOLD + " " + RESET)
        lines.append(HEAD_BAR.join((b if i else "") + BOLD + h + RESET + (b if i < last else "") for i, h in enumerate(head)))
    else:
        lines.append(HEAD_BAR.join(_spaced(h, i, last) for i, h in enumerate(head)))
    lines.append(RULE_CROSS.join(RULE * (w + (i > 0) + (i < last)) for i, w in enumerate(widths)))
    for row in cells:
        lines.append(ROW_BAR.join(_spaced(_pad(cell, w), i, last) for i, (cell, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(lines) + "\n"


def _plain_console(environ: Mapping[str, str], file: IO[str]) -> bool:
    """Whether rich would draw on ``file`` the way :func:`render` does: not on Windows (legacy
    consoles), in Jupyter or IDLE, or with an encoding other than UTF-8 (rich swaps the box)."""
    if sys.platform == "win32" or hasattr(builtins, "get_ipython"):
        return False
    if getattr(sys.stdin, "__module__", "").startswith("idlelib"):
        return False
    return (getattr(file, "encoding", "utf-8") or "utf-8").lower().startswith("utf")


def _plain_header(text: str) -> bool:
    """A header rich draws as written: rich reads a header (a str) as markup and emoji codes,
    where the cells and the title are plain Text."""
    return text.isprintable() and "[" not in text and ":" not in text


def _spaced(cell: str, i: int, last: int) -> str:
    """A cell with rich's padding: none at the table's edges, one space on each inner side."""
    return (" " if i else "") + cell + (" " if i < last else "")


def _cell_len(text: str) -> int:
    if text.isascii():
        return len(text)
    from rich.cells import cell_len  # noqa: PLC0415 - rich's own cell widths (wide and zero-width characters), only for non-ASCII text

    return cell_len(text)


def _pad(text: str, width: int) -> str:
    """rich's ``Text.truncate(width, overflow="ellipsis", pad=True)``: cut with "…", or padded."""
    if text.isascii():
        if len(text) > width:
            return text[:width - 1] + "…"
        return text + " " * (width - len(text))
    from rich.cells import cell_len, set_cell_size  # noqa: PLC0415 - see _cell_len

    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…"
    return text + " " * (width - length)
