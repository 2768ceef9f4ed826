"""Times people type, and weekly schedules.

``parse_when`` reads what ``--at`` accepts: ISO times (``2026-12-01T09:00``, with or without an
offset), ``today 14:00``, ``tomorrow 09:00``, ``mon 10:00`` (the next Monday), ``+2h`` / ``+30m``
/ ``+1d``, and ``now``. Times without an offset are in the workspace time zone; the result is
an aware UTC datetime. Wall-clock arithmetic is done in the local zone, so daylight-saving
changes never shift a 09:00 post to 08:00 or 10:00.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from socialsell.records import record

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAY_ALIASES = {d: i for i, d in enumerate(DAYS)} | {
    full: i for i, full in enumerate(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
}
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
#: how far from now a time people type may be. Further is a typo (``+99999999999d``), and the
#: bound keeps every later computation (the next occurrence, a snooze, the calendar) inside what
#: a datetime can hold, so no job fails on it later.
MAX_AWAY = timedelta(days=3653)
MAX_AWAY_LABEL = "10 years"
#: the longest interval between the posts of a series (``--repeat``): yearly
MAX_INTERVAL = timedelta(days=366)


def _too_far(text: str) -> ValueError:
    return ValueError(f"{text.strip()[:60]!r} is more than {MAX_AWAY_LABEL} from now: give a nearer time")


def check_near(at: datetime, now: datetime, text: str) -> datetime:
    """``at`` when it is within :data:`MAX_AWAY` of ``now``; ValueError otherwise."""
    if abs(at - now) > MAX_AWAY:
        raise _too_far(text)
    return at


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall-clock time in ``tz`` as aware UTC.

    A time that does not exist (the hour skipped in spring) moves forward by the gap; an
    ambiguous one (the hour repeated in autumn) takes its first occurrence.
    """
    # fold=0 takes the offset in force before a transition: for an ambiguous time that is its
    # first occurrence, and for a skipped one it lands after the gap (02:30 -> 03:30 in spring).
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def local_date_time(day: date, at: time, tz: ZoneInfo) -> datetime:
    return to_utc(datetime.combine(day, at), tz)


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """Parse ``text`` relative to ``now`` (aware). Raises ValueError with a helpful message,
    also for a time more than :data:`MAX_AWAY` from ``now`` (which would overflow later)."""
    try:
        return check_near(_parse_when(text, now, tz), now, text)
    except OverflowError:  # year 1 in a zone east of UTC, year 9999 west of it
        raise _too_far(text) from None


def _parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    s = text.strip().lower()
    local_now = now.astimezone(tz)
    if s == "now":
        return now.astimezone(UTC)
    ahead = _whole_duration(s[1:]) if s.startswith("+") else None
    if ahead is not None:
        number, unit = ahead
        if len(number) > 12 or int(number) * _UNITS[unit] > MAX_AWAY.total_seconds():
            raise _too_far(text)
        n = int(number)
        if unit in ("d", "w"):  # calendar days keep the wall-clock time across DST
            days = n * (7 if unit == "w" else 1)
            return to_utc(local_now.replace(tzinfo=None) + timedelta(days=days), tz)
        return now.astimezone(UTC) + timedelta(seconds=n * _UNITS[unit])
    m = re.fullmatch(r"(today|tomorrow|[a-z]+)\s+(\d{1,2}:\d{2})", s)
    if m and (m.group(1) in ("today", "tomorrow") or m.group(1) in _DAY_ALIASES):
        word, hhmm = m.group(1), parse_hhmm(m.group(2))
        today = local_now.date()
        if word == "today":
            day = today
        elif word == "tomorrow":
            day = today + timedelta(days=1)
        else:
            ahead = (_DAY_ALIASES[word] - today.weekday()) % 7
            day = today + timedelta(days=ahead)
            if ahead == 0 and hhmm <= local_now.time().replace(tzinfo=None):
                day += timedelta(days=7)
        return local_date_time(day, hhmm, tz)
    if re.fullmatch(r"\d{4}-\d\d-\d\d|today|tomorrow|" + "|".join(_DAY_ALIASES), s):
        # a day without a time would silently mean midnight: ask for the time instead
        raise ValueError(f"{text.strip()!r} has no time of day: give one, e.g. '{text.strip()} 09:00'")
    try:
        parsed = datetime.fromisoformat(text.strip().replace(" ", "T", 1) if re.match(r"\d{4}-\d\d-\d\d \d", text.strip()) else text.strip())
    except ValueError:
        raise ValueError(
            f"cannot read the time {text.strip()[:60]!r}: use ISO (2026-12-01 09:00), 'tomorrow 09:00', 'mon 10:00' or '+2h'"
        ) from None
    if parsed.tzinfo is None:
        return to_utc(parsed, tz)
    return parsed.astimezone(UTC)


# --- the one reader of times of day and durations (the config, --at, --every, slots) ---------


def parse_hhmm(text: str) -> time:
    """``"09:00"`` -> time(9, 0): every time of day people write (config, slots, business hours,
    ``tomorrow 09:00``). Raises ValueError."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"cannot read the time of day {text!r}: use HH:MM, e.g. 09:00")
    return time(int(m.group(1)), int(m.group(2)))


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)?\s*")


def read_duration(text: str) -> tuple[str, str]:
    """``"90s"``, ``"5m"``, ``"1.5h"``, ``"2 w"`` -> (the number as written, the unit, "" when
    none): every duration people write goes through here; each caller says which numbers and
    units it takes. Raises ValueError."""
    m = _DURATION.fullmatch(text.lower())
    if not m:
        raise ValueError(text)
    return m.group(1), m.group(2) or ""


def duration_seconds(value: object) -> int:
    """Seconds from ``300``, ``"90s"``, ``"5m"``, ``"2h"``, ``"1d"``, ``"1w"`` (the config's
    durations; at least one second). Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        number, unit = read_duration(str(value))
        seconds = float(number) * (_UNITS[unit] if unit else 1)
    if not math.isfinite(seconds) or seconds < 1:
        raise ValueError(value)
    return int(seconds)


def parse_days(text: str) -> list[int]:
    """``mon-fri`` / ``mon,wed,fri`` / ``daily`` / ``sat`` -> weekday numbers (Monday 0)."""
    s = text.strip().lower()
    if s in ("daily", "every day", "*"):
        return list(range(7))
    if s in ("weekdays",):
        return list(range(5))
    days: list[int] = []
    for part in s.split(","):
        part = part.strip()
        if "-" in part:
            a, b = (p.strip() for p in part.split("-", 1))
            if a not in _DAY_ALIASES or b not in _DAY_ALIASES:
                raise ValueError(f"unknown day range {part!r}: use e.g. mon-fri")
            i, j = _DAY_ALIASES[a], _DAY_ALIASES[b]
            days.extend(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        elif part in _DAY_ALIASES:
            days.append(_DAY_ALIASES[part])
        else:
            raise ValueError(f"unknown day {part!r}: use mon, tue, wed, thu, fri, sat, sun")
    return sorted(set(days))


@record(frozen=True)
class WeeklyTimes:
    """Weekly wall-clock times: ``mon-fri 09:00, 12:30``."""

    days: tuple[int, ...]
    times: tuple[time, ...]

    def __str__(self) -> str:
        return f"{_days_label(self.days)} " + ", ".join(t.strftime("%H:%M") for t in self.times)


def _days_label(days: tuple[int, ...]) -> str:
    if list(days) == list(range(7)):
        return "daily"
    if len(days) > 2 and list(days) == list(range(days[0], days[-1] + 1)):
        return f"{DAYS[days[0]]}-{DAYS[days[-1]]}"
    return ",".join(DAYS[d] for d in days)


def parse_slot_rule(text: str) -> WeeklyTimes:
    """``"mon-fri 09:00, 12:30"`` -> WeeklyTimes. Raises ValueError."""
    m = re.fullmatch(r"\s*([a-z,\- ]+?)\s+(\d{1,2}:\d{2}(?:\s*,\s*\d{1,2}:\d{2})*)\s*", text.lower())
    if not m:
        raise ValueError(f"cannot read the slot rule {text!r}: use e.g. \"mon-fri 09:00, 12:30\"")
    days = parse_days(m.group(1))
    times = sorted({parse_hhmm(t) for t in m.group(2).split(",")})
    return WeeklyTimes(tuple(days), tuple(times))


def upcoming_slots(rules: list[WeeklyTimes], after: datetime, tz: ZoneInfo, limit: int = 100, horizon_days: int = 366):
    """Slot times (aware UTC) strictly after ``after``, in order."""
    local = after.astimezone(tz)
    day = local.date()
    found = 0
    for offset in range(horizon_days):
        d = day + timedelta(days=offset)
        times = sorted({t for r in rules if d.weekday() in r.days for t in r.times})
        for t in times:
            at = local_date_time(d, t, tz)
            if at > after:
                yield at
                found += 1
                if found >= limit:
                    return


@record(frozen=True)
class BusinessHours:
    """Weekly opening hours: ``mon-fri 09:00-17:00`` (several rules joined by ``;``)."""

    windows: tuple[tuple[int, time, time], ...]  # (weekday, start, end)

    def open_windows(self, day: date) -> list[tuple[time, time]]:
        return sorted((s, e) for d, s, e in self.windows if d == day.weekday())


@functools.lru_cache(maxsize=64)  # called for every new follow-up's due time
def parse_business_hours(text: str) -> BusinessHours:
    windows = []
    for rule in str(text).split(";"):
        m = re.fullmatch(r"\s*([a-z,\- ]+?)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", rule.lower())
        if not m:
            raise ValueError(f"business hours like \"mon-fri 09:00-17:00\", not {rule.strip()!r}")
        start, end = parse_hhmm(m.group(2)), parse_hhmm(m.group(3))
        if end <= start:
            raise ValueError(f"business hours must end after they start, not {rule.strip()!r}")
        for d in parse_days(m.group(1)):
            windows.append((d, start, end))
    if not windows:
        raise ValueError("business hours like \"mon-fri 09:00-17:00\"")
    return BusinessHours(tuple(windows))


def add_business_time(start: datetime, seconds: float, hours: BusinessHours, tz: ZoneInfo, holidays: frozenset[date] = frozenset()) -> datetime:
    """``start`` plus ``seconds`` of business time, counted only inside opening hours."""
    remaining = timedelta(seconds=seconds)
    cursor = start.astimezone(tz)
    for _ in range(3660):
        day = cursor.date()
        if day not in holidays:
            for s, e in hours.open_windows(day):
                w_start = local_date_time(day, s, tz)
                w_end = local_date_time(day, e, tz)
                begin = max(w_start, cursor.astimezone(UTC))
                if begin >= w_end:
                    continue
                available = w_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        cursor = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    raise ValueError("business hours leave no open time within ten years")


def format_local(at: datetime | None, tz: ZoneInfo, fmt: str = "%a %d %b %H:%M") -> str:
    if at is None:
        return "-"
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(tz).strftime(fmt)


def parse_interval(text: str) -> tuple[int, str]:
    """``"7d"`` / ``"2w"`` / ``"12h"`` / ``"30m"`` -> (number, unit). Raises ValueError."""
    found = _whole_duration(str(text))
    if not found or found[1] == "s" or int(found[0][:12]) < 1:
        raise ValueError(f"cannot read the interval {str(text)[:60]!r}: use e.g. 7d, 2w, 12h")
    number, unit = found
    if len(number) > 12 or int(number) * _UNITS[unit] > MAX_INTERVAL.total_seconds():
        raise ValueError(f"the interval {str(text).strip()[:60]!r} is too long: at most {MAX_INTERVAL.days} days")
    return int(number), unit


def _whole_duration(text: str) -> tuple[str, str] | None:
    """A whole number with a unit (``+2h``, ``--every 7d``), or None."""
    try:
        number, unit = read_duration(text)
    except ValueError:
        return None
    return (number, unit) if unit and "." not in number else None


def interval_seconds(text: str) -> int:
    n, unit = parse_interval(text)
    return n * _UNITS[unit]


def add_interval(at: datetime, every: str, tz: ZoneInfo) -> datetime:
    """``at`` plus ``every``: days and weeks in wall-clock time (a 09:00 post stays 09:00 across a
    daylight-saving change), hours and minutes in elapsed time."""
    n, unit = parse_interval(every)
    if unit in ("d", "w"):
        local = at.astimezone(tz).replace(tzinfo=None)
        return to_utc(local + timedelta(days=n * (7 if unit == "w" else 1)), tz)
    return at.astimezone(UTC) + timedelta(seconds=n * _UNITS[unit])


def parse_date_end(text: str, tz: ZoneInfo) -> datetime:
    """``--until 2026-12-31`` -> the end of that local day (aware UTC); a full time is kept."""
    s = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d\d-\d\d", s):
            return check_year(to_utc(datetime.combine(date.fromisoformat(s), time(23, 59, 59)), tz), text)
        parsed = datetime.fromisoformat(s)
        return check_year(to_utc(parsed, tz) if parsed.tzinfo is None else parsed.astimezone(UTC), text)
    except OverflowError:
        raise ValueError(f"the date {text[:60]!r} is out of range (years {MIN_YEAR} to {MAX_YEAR})") from None
    except ValueError as e:
        if "out of range" in str(e):
            raise
        raise ValueError(f"cannot read the date {text[:60]!r}: use YYYY-MM-DD") from None


#: the years a typed date may fall in (campaign dates, --until): outside them it is a typo
MIN_YEAR, MAX_YEAR = 1970, 2999


def check_year(at: datetime, text: str) -> datetime:
    """``at`` when its year is between :data:`MIN_YEAR` and :data:`MAX_YEAR`; ValueError otherwise."""
    if not MIN_YEAR <= at.year <= MAX_YEAR:
        raise ValueError(f"the date {text.strip()[:60]!r} is out of range (years {MIN_YEAR} to {MAX_YEAR})")
    return at


def format_due(at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """``Thu 14:00`` within the coming week, ``Thu 10 Dec 14:00`` beyond it (or before it), so a
    weekday never names the wrong week."""
    local, today = at.astimezone(tz), now.astimezone(tz).date()
    if today <= local.date() < today + timedelta(days=6):
        return local.strftime("%a %H:%M")
    return local.strftime("%a %d %b %H:%M")


def format_ago(at: datetime, now: datetime) -> str:
    """``"2h ago"``, ``"3d ago"``, ``"just now"``: how long ago, in the largest whole unit."""
    seconds = (now - at).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"  # pragma: no cover - the loop always returns
