"""The current time. Everything asks here, so tests control time with time-machine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from socialsell.errors import UsageError


def utcnow() -> datetime:
    return datetime.now(UTC)


def frozen(value: str | None) -> Callable[[], datetime] | None:
    """``SOCIALSELL_NOW``: a fixed time for every command of one run, so a demo or a script gives
    the same output whenever it runs (docs/operations.md). Not for ``run``, whose loop waits in
    real time. None when unset; a value that is not an ISO time with its zone is bad input."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise UsageError(f"SOCIALSELL_NOW: expected an ISO time with its zone (2026-06-10T15:00Z), not {value!r}")
    at = at.astimezone(UTC)
    return lambda: at
