"""Elapsed business time between two moments (the SLA counts only opening hours)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from socialsell.timeparse import BusinessHours, local_date_time


def business_seconds(start: datetime, end: datetime, hours: BusinessHours, tz: ZoneInfo,
                     holidays: frozenset[date] = frozenset()) -> float:
    """Seconds of opening hours between ``start`` and ``end`` (0 when end is not after start)."""
    if end <= start:
        return 0.0
    total = 0.0
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        if day not in holidays:
            for s, e in hours.open_windows(day):
                lo = max(local_date_time(day, s, tz), start.astimezone(UTC))
                hi = min(local_date_time(day, e, tz), end.astimezone(UTC))
                if hi > lo:
                    total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil without floats
    return ordered[int(rank) - 1]


def middle(values: list[float]) -> float | None:
    return median(values) if values else None
