"""The current time. Everything asks here, so tests control time with time-machine."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
