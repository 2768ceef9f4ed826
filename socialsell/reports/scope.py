"""What a report covers: the period (friendly dates in the workspace time zone), the filters
(campaign, channel account, owner), the attribution model and the section; checked whole
before any query runs, so bad input is one line and exit status 2."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, literal, select

from socialsell.db import schema as t
from socialsell.errors import UsageError
from socialsell.timeparse import parse_when, to_utc

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

MODELS = ("first", "last", "linear")
DEFAULT_WEEKS = 4  # enough for a weekly trend, short enough to act on


@dataclass
class Scope:
    since: datetime  # aware UTC, inclusive
    until: datetime  # aware UTC, exclusive
    tz: ZoneInfo
    campaign: str | None = None
    campaign_id: int | None = None
    channel: str | None = None
    account_id: int | None = None
    owner: str | None = None
    model: str = "linear"
    section: str | None = None
    weeks: list[datetime] = field(default_factory=list)  # local Monday 00:00 of each week, as UTC
    #: facts sections share, read once per report (socialsell.reports.facts)
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def shared(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per scope (per report); later calls get the same result."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400

    def week_label(self, index: int) -> str:
        return self.weeks[index].astimezone(self.tz).strftime("%G-W%V")

    def week_of(self, column: Any) -> Any:
        """A SQL expression: the index of the report week ``column`` falls in (the same on SQLite
        and PostgreSQL, and right across daylight-saving changes: the bounds are computed here).
        Group by it from a subquery: PostgreSQL does not see two bound CASEs as one expression."""
        if len(self.weeks) == 1:
            return literal(0)
        return case(*((column < bound, i) for i, bound in enumerate(self.weeks[1:])), else_=len(self.weeks) - 1)

    def week_index(self, when: datetime) -> int:
        """The index of the report week ``when`` falls in (Python's twin of :meth:`week_of`)."""
        return max(0, bisect_right(self.weeks, when) - 1)

    def week_fraction(self, index: int) -> float:
        """The share of report week ``index`` inside the period (a first or last week may be partial)."""
        start = max(self.weeks[index], self.since)
        end = min(self.weeks[index + 1] if index + 1 < len(self.weeks) else self.weeks[index] + timedelta(days=7),
                  self.until)
        return max(0.0, (end - start).total_seconds() / (7 * 86400))

    def in_period(self, column: Any) -> Any:
        return (column >= self.since) & (column < self.until)

    def as_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "campaign": self.campaign,
                "channel": self.channel, "owner": self.owner, "model": self.model, "only_section": self.section}


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return to_utc(datetime.combine(day, time(0)), tz)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as e:
        raise ValueError(f"cannot read the date {text!r} ({e}): use YYYY-MM-DD, today, yesterday or 7d") from None


def _default_since(end: datetime, tz: ZoneInfo) -> datetime:
    """Monday of the week three weeks before the one ``end`` falls in: four whole weeks for the trend."""
    day = (end - timedelta(microseconds=1)).astimezone(tz).date()
    return _local_midnight(day - timedelta(days=day.weekday() + 7 * (DEFAULT_WEEKS - 1)), tz)


def parse_since(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """``2026-11-01``, ``today``, ``yesterday``, ``7d`` / ``-2w`` (ago), or any ``--at`` form."""
    s = text.strip().lower()
    today = now.astimezone(tz).date()
    if s in ("today", "yesterday"):
        return _local_midnight(today - timedelta(days=s == "yesterday"), tz)
    m = re.fullmatch(r"-?\s*(\d+)\s*([dw])(?:\s+ago)?", s)
    if m:
        return _local_midnight(today - timedelta(days=int(m.group(1)) * (7 if m.group(2) == "w" else 1)), tz)
    if re.fullmatch(r"\d{4}-\d\d-\d\d", s):
        return _local_midnight(_date(text), tz)
    return parse_when(text, now, tz)


def parse_until(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """The end of the period: a date means through the end of that local day."""
    s = text.strip().lower()
    today = now.astimezone(tz).date()
    if s in ("today", "yesterday"):
        return _local_midnight(today + timedelta(days=s == "today"), tz)
    if re.fullmatch(r"\d{4}-\d\d-\d\d", s):
        return _local_midnight(_date(text) + timedelta(days=1), tz)
    return parse_when(text, now, tz)


def report_weeks(since: datetime, until: datetime, tz: ZoneInfo) -> list[datetime]:
    """The local Monday 00:00 of every week the period touches (the first may start before it)."""
    day = since.astimezone(tz).date()
    monday = day - timedelta(days=day.weekday())
    weeks = []
    while not weeks or _local_midnight(monday, tz) < until:
        weeks.append(_local_midnight(monday, tz))
        monday += timedelta(days=7)
    return weeks


def build_scope(app: App, *, since: str | None = None, until: str | None = None, campaign: str | None = None,
                channel: str | None = None, owner: str | None = None, model: str | None = None,
                section: str | None = None, sections: tuple[str, ...] = ()) -> Scope:
    """Check every option and resolve names to ids. Raises UsageError naming the bad one."""
    tz = app.workspace.timezone
    now = app.now()
    try:
        # no --until: through today, as `--until today`: the period is [since, end) with a date's
        # end the next local midnight, so what happened at this very moment (a deal won just
        # now) is inside it, as everything on the --until date is (docs/reports.md)
        end = parse_until(until or "today", now, tz)
    except ValueError as e:
        raise UsageError(f"--until: {e}") from None
    try:
        start = parse_since(since, now, tz) if since else _default_since(end, tz)
    except ValueError as e:
        raise UsageError(f"--since: {e}") from None
    if start >= end:
        raise UsageError(f"--since {since or start.date()} is not before --until {until or 'now'}")
    if model is not None and model not in MODELS:
        raise UsageError(f"--model {model!r}: one of {', '.join(MODELS)}")
    if section is not None and sections and section not in sections:
        raise UsageError(f"unknown --section {section!r} (one of {', '.join(sections)})")
    scope = Scope(since=start.astimezone(UTC), until=end.astimezone(UTC), tz=tz, model=model or "linear",
                  section=section, owner=owner, channel=channel, campaign=campaign)
    if channel is not None:
        app.workspace.account(channel)  # one line naming the configured accounts
        scope.account_id = app.account_id(channel)
    if owner is not None:
        team = [r.name for r in app.workspace.team]
        with app.db.read() as conn:
            known = owner in team or conn.execute(select(t.tasks.c.id).where(t.tasks.c.owner == owner).limit(1)).first()
        if not known:
            raise UsageError(f"unknown --owner {owner!r} (the team: {', '.join(team) or 'nobody in [team]'})")
    if campaign is not None:
        with app.db.read() as conn:
            scope.campaign_id = conn.execute(select(t.campaigns.c.id).where(t.campaigns.c.name == campaign)).scalar()
        if scope.campaign_id is None:
            raise UsageError(f"unknown --campaign {campaign!r} (see `socialsell campaign list`)")
    scope.weeks = report_weeks(scope.since, scope.until, tz)
    return scope
