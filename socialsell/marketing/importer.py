"""Bulk import of posts from CSV: ``socialsell import posts FILE.csv [--dry-run] [--skip-invalid]``.

The header (column order is free, names are fixed)::

    channel,text,template,vars,at,campaign

- ``channel``: one account, or several separated by ``;`` (``sandbox;acme-x``); empty: the
  campaign's or the template's default channels
- ``text`` or ``template`` (exactly one), ``vars`` as ``k=v;k2=v2`` for the template
- ``at``: when (``2026-12-01 09:00``, ``tomorrow 09:00``, ...); empty: the next free slot
- ``campaign``: a campaign name (optional)

``post list --csv`` writes the same columns plus some of its own (``id``, ``delivery``, ``status``,
``published_at``, ``url``, ``error``), which the import ignores, so an export can be imported
back. Cells a spreadsheet would run as a formula are exported with a leading ``'`` (see
:func:`neutralise`); the import takes that quote off again.

Every row is checked first, exactly as ``post new`` checks it. Rows are numbered as a
spreadsheet shows them (the header is row 1). With any bad row nothing is imported, unless
``skip_invalid``, which imports the good rows and reports the others.
"""

from __future__ import annotations

import csv
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from socialsell.errors import UsageError
from socialsell.marketing.posts import _campaign, prepare_post, store_post
from socialsell.marketing.templates import find_template
from socialsell.timeparse import parse_when

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App
    from socialsell.marketing.posts import PostPlan

#: the largest CSV file imported (a million posts is about 100 MB)
MAX_FILE_BYTES = 100 * 1024 * 1024
COLUMNS = ("channel", "text", "template", "vars", "at", "campaign")
#: what ``post list --csv`` writes, in order
EXPORT_COLUMNS = ("id", "delivery", "channel", "status", "at", "published_at", "campaign", "text", "url", "error")
#: columns of an export that an import ignores (the database gives them anew)
EXPORT_ONLY = tuple(c for c in EXPORT_COLUMNS if c not in COLUMNS)
#: a cell starting with one of these is run as a formula by spreadsheets (OWASP "CSV Injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass
class ImportResult:
    rows: int = 0
    imported: list[int] = field(default_factory=list)  # post ids
    valid: int = 0
    errors: list[str] = field(default_factory=list)  # one line per bad row


class RowError(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column


def read_rows(path: Path) -> list[dict[str, str]]:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # /dev/zero never ends, a FIFO may never answer
            raise UsageError(f"{path}: not a regular file; give a CSV file")
        if info.st_size > MAX_FILE_BYTES:
            raise UsageError(f"{path}: {info.st_size / 1048576:.0f} MB is over the {MAX_FILE_BYTES // 1048576} MB limit; "
                             "split it")
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (IsADirectoryError, PermissionError) as e:
        raise UsageError(f"{path}: cannot read it ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if "\x00" in raw:  # no cell may hold one (PostgreSQL refuses it in any text, a network in a post)
        line = raw.count("\n", 0, raw.index("\x00")) + 1
        raise UsageError(f"{path}: line {line}: a NUL byte; a CSV file of posts is text")
    reader = csv.DictReader(raw.splitlines(keepends=True))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not header:
        raise UsageError(f"{path}: empty file; the header is {','.join(COLUMNS)}")
    unknown = [h for h in header if h not in COLUMNS and h not in EXPORT_ONLY]
    if unknown:
        raise UsageError(f"{path}: row 1: unknown column {unknown[0]!r} (the header is {','.join(COLUMNS)})")
    if "text" not in header and "template" not in header:
        raise UsageError(f"{path}: row 1: the header needs a text or a template column ({','.join(COLUMNS)})")
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            if None in row:
                raise UsageError(f"{path}: row {reader.line_num}: more fields than the header has columns")
            rows.append({k: restore(v or "").strip() for k, v in row.items() if k not in EXPORT_ONLY})
    except csv.Error as e:
        raise UsageError(f"{path}: row {reader.line_num}: {e}") from None
    return rows


def plan_row(app: App, row: dict[str, str]) -> PostPlan:
    """Check one row as ``post new`` would; RowError names the column at fault."""

    accounts = [a.strip() for a in row.get("channel", "").split(";") if a.strip()]
    for a in accounts:
        if a not in app.workspace.accounts:
            raise RowError("channel", f"unknown channel account {a!r} (configured: {', '.join(sorted(app.workspace.accounts))})")
    text, template = row.get("text") or None, row.get("template") or None
    if (text is None) == (template is None):
        raise RowError("text", "give either text or template (exactly one)")
    variables: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in row.get("vars", "").split(";"))):
        if "=" not in pair or not pair.split("=", 1)[0].strip():
            raise RowError("vars", f"{pair!r}: use k=v;k2=v2")
        k, v = pair.split("=", 1)
        variables[k.strip()] = v
    if variables and template is None:
        raise RowError("vars", "vars are for a template; this row has none")
    at = None
    if row.get("at"):
        try:
            at = parse_when(row["at"], app.now(), app.workspace.timezone)
        except ValueError as e:
            raise RowError("at", str(e)) from None
        if at < app.now():
            raise RowError("at", f"{row['at']} is in the past")
    campaign = row.get("campaign") or None
    if campaign:
        try:
            _campaign(app, campaign)
        except UsageError as e:
            raise RowError("campaign", str(e)) from None
    if template:
        try:
            find_template(template, app.workspace.root)
        except UsageError as e:
            raise RowError("template", str(e)) from None
    try:
        return prepare_post(app, accounts=accounts, text=text, template=template, variables=variables,
                            at=at, queue=at is None, campaign=campaign)
    except UsageError as e:
        message = str(e)
        column = "template" if template else "text"
        if "missing variable" in message or "is undefined" in message:
            column = "vars"
        elif "no posting slots" in message:
            column = "at"
        elif "channel account" in message:
            column = "channel"
        raise RowError(column, message) from None


def import_posts(
    app: App, path: Path, *, dry_run: bool = False, skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Check every row, then store the valid ones in one transaction (all, or none unless
    ``skip_invalid``). ``progress(n)`` is called as rows are checked and stored."""

    rows = read_rows(path)
    result = ImportResult(rows=len(rows))
    plans: list[PostPlan] = []
    for number, row in enumerate(rows, start=2):
        try:
            plans.append(plan_row(app, row))
        except RowError as e:
            result.errors.append(f"{path.name}: row {number}, column {e.column}: {e}")
        if progress:
            progress(1)
    result.valid = len(plans)
    if dry_run or (result.errors and not skip_invalid) or not plans:
        return result
    app.account_ids()
    with app.db.write() as conn:
        for plan in plans:
            result.imported.append(store_post(app, conn, plan))
            if progress:
                progress(1)
        app.record(conn, "posts.imported", None, {"file": path.name, "posts": len(result.imported)})
    return result


def neutralise(value: Any) -> str:
    """A cell no spreadsheet runs as a formula: one starting with ``=``, ``+``, ``-``, ``@``, a tab
    or a line break gets a leading ``'`` (OWASP's advice for CSV injection). So does one that
    starts with ``'`` already, so that :func:`restore` gives back exactly what was written."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) or text.startswith("'"):
        return "'" + text
    return text


def restore(cell: str) -> str:
    """The value :func:`neutralise` wrote ``cell`` for (a cell typed by hand stays as it is)."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in (*FORMULA_START, "'"):
        return cell[1:]
    return cell


def write_csv(rows: list[dict[str, Any]], stream: IO[str]) -> None:
    """``post list --csv``: the header, then every row with each cell neutralised."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([neutralise(row.get(c)) for c in EXPORT_COLUMNS])


def export_rows(posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``post list --csv``: one row per delivery."""
    out = []
    for p in posts:
        for d in p["deliveries"]:
            out.append({
                "id": p["id"], "delivery": d["id"], "channel": d["account"], "status": d["status"],
                "at": d["due_at"].isoformat() if d["due_at"] else "",
                "published_at": d["published_at"].isoformat() if d["published_at"] else "",
                "campaign": p.get("campaign") or "", "text": d["text"],
                "url": d["remote_url"] or "", "error": d["error"] or "",
            })
    return out
