"""Input types every command shares, and how click's own errors are shown.

Bad input is one line on stderr (``Error: ...`` naming what and where) and exit status 2. The
parameter types here refuse what would later overflow, be stored as nonsense or break a job
(an id of 2**64, ``--amount nan``, ``--media /dev/zero``); :func:`usage_error_line` turns click's
three-line usage errors into that one line.
"""

from __future__ import annotations

import math
import re
from typing import Any

import click

from socialsell.errors import UsageError

#: ids are 64-bit signed integers in every database socialsell supports
MAX_ID = 2**63 - 1
#: the largest amount or budget we store: beyond it, a float loses the cents
MAX_AMOUNT = 1e12


def check_id(value: str | int, what: str) -> int:
    """``value`` as an id of a ``what`` (post, task, contact); UsageError when it cannot be one."""
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?\d{1,30}", text):
        raise UsageError(f"{what} id must be a number, not {str(value)[:40]!r}")
    n = int(text)
    if n < 1:
        raise UsageError(f"{what} id must be positive, not {n}")
    if n > MAX_ID:
        raise UsageError(f"{what} id {text[:30]} is too large (no such {what})")
    return n


def check_amount(value: str | float, what: str) -> float:
    """A finite, non-negative money amount (``--amount``, ``--budget``)."""
    try:
        n = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{what} must be a number, not {str(value)[:40]!r}") from None
    if not math.isfinite(n):
        raise UsageError(f"{what} must be a finite number, not {value!r}")
    if n < 0:
        raise UsageError(f"{what} must not be negative, not {n:g}")
    if n > MAX_AMOUNT:
        raise UsageError(f"{what} {n:g} is too large (at most {MAX_AMOUNT:g})")
    return n


class IdType(click.ParamType):
    """A positive database id (``socialsell task show ID``)."""

    name = "id"

    def __init__(self, what: str):
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return check_id(value, self.what)
        except UsageError as e:
            self.fail(str(e), param, ctx)


class AmountType(click.ParamType):
    """A money amount: a finite number, not negative (``nan``, ``inf`` and ``1e400`` are refused)."""

    name = "amount"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        label = f"--{param.name}" if param is not None and param.name else "the amount"
        try:
            return check_amount(value, label)
        except UsageError as e:
            self.fail(str(e), param, ctx)


class MediaFileType(click.ParamType):
    """A file to attach to a post: a regular, readable image or video within the size limit.
    What each channel takes is checked again when the post is prepared."""

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            # marketing.media imports the channel module (~10 ms, -X importtime), which every read
            # command would pay through this module; only a --media value needs it
            from socialsell.marketing.media import check_media_file  # noqa: PLC0415

            check_media_file(str(value))
        except UsageError as e:
            self.fail(str(e).removeprefix("--media "), param, ctx)
        return str(value)


class TextType(click.ParamType):
    """Text that goes out or is stored (a reply, a note): no control characters (a NUL byte,
    escape codes); tab and line breaks are fine."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        m = _CONTROL.search(str(value))
        if m:
            self.fail(f"the control character {m.group()!r} at position {m.start() + 1} is not allowed", param, ctx)
        return str(value)


#: C0 controls but tab and line breaks, and DEL (as ``socialsell.marketing.posts`` refuses in posts)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

AMOUNT = AmountType()
TEXT = TextType()
MEDIA_FILE = MediaFileType()


def usage_error_line(error: click.ClickException) -> str:
    """One line for a click error: the message, and where (the command, and how to get help)."""
    message = " ".join(error.format_message().splitlines()).strip()
    if isinstance(error, click.NoSuchOption) and re.fullmatch(r"-\d[\d.]*\w*", error.option_name):
        # `task show -1`, `task snooze 1 -2h`: click reads a negative number as an option
        message = f"{error.option_name}: a negative number is not allowed here (ids and durations are positive)"
    ctx = getattr(error, "ctx", None)
    if isinstance(error, click.UsageError) and ctx is not None:
        return f"{message} (in `{ctx.command_path}`; see `{ctx.command_path} --help`)"
    return message
