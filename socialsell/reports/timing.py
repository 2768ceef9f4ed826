"""Elapsed business time between two moments (the SLA counts only opening hours)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from socialsell.timeparse import BusinessHours, local_date_time


def business_seconds(start: datetime, end: datetime, hours: BusinessHours, tz: ZoneInfo,
                     holidays: frozenset[date] = frozenset(),
                     windows: dict[date, list[tuple[datetime, datetime]]] | None = None) -> float:
    """Seconds of opening hours between ``start`` and ``end`` (0 when end is not after start).
    ``windows``: a dict kept by the caller across calls, each day's opening windows (in UTC)
    computed once (a report asks this of every touched follow-up, mostly on the same days)."""
    if end <= start:
        return 0.0
    total = 0.0
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    known = {} if windows is None else windows
    while day <= last:
        open_ = known.get(day)
        if open_ is None:
            open_ = known[day] = [] if day in holidays else [
                (local_date_time(day, s, tz), local_date_time(day, e, tz)) for s, e in hours.open_windows(day)]
        for lo, hi in open_:
            lo, hi = max(lo, start), min(hi, end)
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
    """The median (statistics.median's result, without importing statistics on a read command)."""
    if not values:
        return None
    ordered = sorted(values)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2
