"""The listening job: each ``[[listen]]`` stream searched on its accounts, exactly once, within budget.

Like the poll (docs/architecture.md, invariant 2): one worker searches a stream on an account at
a time (a lease); the channel is asked outside any transaction; the matches, the follow-ups the
strong ones open and the new cursor are committed in one transaction fenced by the lease, so a
crash loses nothing and stores nothing twice.

The monthly read budget (``[[listen]] monthly_reads``) is never exceeded: before each request
the reads it may bill (its page size) are reserved in their own transaction, under a row lock,
and only what the budget has left is asked for; after the request the reservation is settled to
what the network billed, in the same transaction as the matches. A crash between the two leaves
the reservation counted (spent, never overspent). docs/listening.md explains it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select, update

from socialsell.db import schema as t
from socialsell.errors import UsageError
from socialsell.loop import leases
from socialsell.loop.polling import LeaseLost
from socialsell.plugins.channel import AuthError, Channel, ChannelError, RateLimited, SearchPage
from socialsell.sales.ingest import ignore_reason
from socialsell.sales.signals import (
    StoreResult,
    own_handles,
    score_found,
    search_query,
    store_matches,
)
from socialsell.settings import ListenQuery, ListenStream

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

log = logging.getLogger("socialsell.listen")

#: pages one run reads per account at most (the next run goes on from the cursor)
MAX_PAGES = 5


@dataclass
class ListenReport:
    stream: str
    account: str
    skipped: str | None = None
    pages: int = 0
    found: int = 0
    stored: int = 0
    promoted: int = 0
    reads: int = 0
    requests: int = 0
    error: str | None = None


def month_of(now: datetime) -> str:
    """The budget's month: the UTC calendar month (``2026-12``)."""
    return now.strftime("%Y-%m")


def next_month(now: datetime) -> datetime:
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


# --- checking streams against their channels --------------------------------------------------


def stream_problems(app: App, stream: ListenStream) -> list[str]:
    """Why a stream cannot run on some of its accounts (a channel that cannot search, a query the
    network cannot take), one line each; no network call. ``run`` refuses to start on any."""
    problems = []
    query = search_query(stream.query)
    for account in stream.accounts:
        try:
            channel = app.channel(account)
        except UsageError as e:
            problems.append(f"[[listen]] {stream.name}: {e}")
            continue
        if not channel.capabilities().search:
            problems.append(f"[[listen]] {stream.name}: account {account!r} ({channel.label or channel.name}) cannot "
                            "search; listen on an account whose channel can (docs/listening.md)")
            continue
        for problem in channel.query_problems(query):
            problems.append(f"[[listen]] {stream.name} on {account}: {problem}")
    return problems


# --- the budget -------------------------------------------------------------------------------


def _spend_row(app: App, conn: Any, stream: str, month: str, now: datetime) -> dict[str, Any]:
    conn.execute(app.db.insert(t.listen_spend).values(stream=stream, month=month, reads=0, requests=0, updated_at=now)
                 .on_conflict_do_nothing(index_elements=["stream", "month"]))
    return dict(conn.execute(select(t.listen_spend).where(and_(t.listen_spend.c.stream == stream,
                                                                 t.listen_spend.c.month == month))
                             .with_for_update()).mappings().one())


def reserve(app: App, stream: ListenStream, channel: Channel, now: datetime) -> tuple[int, int]:
    """Reserve the reads of the next request: ``(page size, reads spent before)``; page size 0
    when the budget has less left than the smallest page the network serves."""
    with app.db.write() as conn:
        row = _spend_row(app, conn, stream.name, month_of(now), now)
        left = stream.monthly_reads - row["reads"]
        size = min(channel.search_page_max, left)
        if size < channel.search_page_min:
            return 0, row["reads"]
        conn.execute(update(t.listen_spend).where(and_(t.listen_spend.c.stream == stream.name,
                                                       t.listen_spend.c.month == row["month"]))
                     .values(reads=t.listen_spend.c.reads + size, requests=t.listen_spend.c.requests + 1, updated_at=now))
        return size, row["reads"]


def _settle(conn: Any, stream: str, month: str, reserved: int, reads: int, requests: int, now: datetime) -> None:
    """The reservation becomes what the network billed (one request was counted with it)."""
    conn.execute(update(t.listen_spend).where(and_(t.listen_spend.c.stream == stream, t.listen_spend.c.month == month))
                 .values(reads=t.listen_spend.c.reads + (reads - reserved),
                         requests=t.listen_spend.c.requests + (requests - 1), updated_at=now))


# --- one stream on one account ------------------------------------------------------------------


def _cursor_upsert(app: App, stream: str, account_id: int, now: datetime, **values: Any) -> Any:
    stmt = app.db.insert(t.listen_cursors).values(stream=stream, account_id=account_id, updated_at=now, **values)
    return stmt.on_conflict_do_update(index_elements=["stream", "account_id"], set_={**values, "updated_at": now})


def _read_cursor(app: App, stream: str, account_id: int) -> str | None:
    with app.db.read() as conn:
        return conn.execute(select(t.listen_cursors.c.value).where(and_(
            t.listen_cursors.c.stream == stream, t.listen_cursors.c.account_id == account_id))).scalar()


def _blocked(app: App, account_id: int, now: datetime) -> str | None:
    with app.db.read() as conn:
        acc = conn.execute(select(t.accounts).where(t.accounts.c.id == account_id)).mappings().one()
    if acc["status"] == "paused":
        return f"paused: {acc['paused_reason']}"
    if acc["rate_limited_until"] and acc["rate_limited_until"] > now:
        return f"rate limited until {acc['rate_limited_until'].isoformat(timespec='seconds')}"
    return None


def listen(app: App, stream_name: str, worker: str, now: datetime | None = None) -> list[ListenReport]:
    """One run of a stream: each of its accounts searched from its cursor, at most ``MAX_PAGES``."""
    stream = app.settings.stream(stream_name)
    if stream is None:
        raise UsageError(f"no listening stream {stream_name!r}")
    return [listen_account(app, stream, account, worker, now or app.now()) for account in stream.accounts]


def listen_account(app: App, stream: ListenStream, account: str, worker: str, now: datetime) -> ListenReport:
    report = ListenReport(stream.name, account)
    account_id = app.account_id(account)
    problems = stream_problems(app, ListenStream(stream.name, [account], stream.query))
    if problems:
        report.skipped = report.error = problems[0]
        with app.db.write() as conn:
            conn.execute(_cursor_upsert(app, stream.name, account_id, now, last_run_at=now, last_error=report.error))
        return report
    blocked = _blocked(app, account_id, now)
    if blocked:
        report.skipped = blocked
        return report
    channel = app.channel(account)
    lease_name = f"listen:{stream.name}:{account}"
    seconds = max(300, channel.timeout * 10)
    with leases.held(app.db, lease_name, worker, now, seconds) as ours:
        if not ours:
            report.skipped = "another worker is searching it"
            return report
        for _ in range(MAX_PAGES):
            page = _search_page(app, stream, channel, account, account_id, report, now)
            if page is None:
                break
            result = _commit(app, stream, account, account_id, (lease_name, worker, seconds), page, report, now)
            result.fire_hooks(app)  # after the commit
            if not (page[0].more and page[0].found):
                break
    log.info("listen", extra={"event": "listen.done", "stream": stream.name, "account": account, "pages": report.pages,
                              "found": report.found, "stored": report.stored, "promoted": report.promoted,
                              "reads": report.reads, "requests": report.requests})
    return report


def _search_page(app: App, stream: ListenStream, channel: Channel, account: str, account_id: int,
                 report: ListenReport, now: datetime) -> tuple[SearchPage, int, int] | None:
    """Reserve, then ask the network outside any transaction. None when nothing more can be read
    (budget spent, or the channel failed: recorded)."""
    size, spent = reserve(app, stream, channel, now)
    if size == 0:
        report.skipped = (f"monthly budget spent: {spent:,} of {stream.monthly_reads:,} reads in {month_of(now)}; "
                          f"next reads from {next_month(now).date().isoformat()}")
        if report.pages == 0:
            with app.db.write() as conn:
                conn.execute(_cursor_upsert(app, stream.name, account_id, now, last_run_at=now, last_error=None))
        return None
    cursor = _read_cursor(app, stream.name, account_id)
    channel.request_count = 0
    try:
        page = channel.search(search_query(stream.query), cursor, limit=size)
    except ChannelError as e:
        _failed(app, stream, account, account_id, size, channel.request_count, e, report, now)
        return None
    return page, size, channel.request_count


def _failed(app: App, stream: ListenStream, account: str, account_id: int, reserved: int, requests: int,
            e: ChannelError, report: ListenReport, now: datetime) -> None:
    """A failed search bills no reads: the reservation is released; a 429 defers the account, a
    refused credential pauses it (as the poll does)."""
    report.error = (f"rate limited until {e.retry_at.isoformat(timespec='seconds')}" if isinstance(e, RateLimited)
                    else f"credentials refused: {e}" if isinstance(e, AuthError) else str(e))
    report.requests += requests
    with app.db.write() as conn:
        _settle(conn, stream.name, month_of(now), reserved, 0, requests, now)
        conn.execute(_cursor_upsert(app, stream.name, account_id, now, last_run_at=now, last_error=report.error))
        if isinstance(e, RateLimited):
            conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(rate_limited_until=e.retry_at))
        if isinstance(e, AuthError):
            app.pause_account(conn, account, str(e))
    log.warning("listen failed", extra={"event": "listen.failed", "stream": stream.name, "account": account,
                                        "error": report.error})
    if isinstance(e, AuthError):
        app.fire("account_paused", account=account, reason=str(e))


def _commit(app: App, stream: ListenStream, account: str, account_id: int, lease: tuple[str, str, float],
            fetched: tuple[SearchPage, int, int], report: ListenReport, now: datetime) -> StoreResult:
    """The matches, the follow-ups they open, the settled spend and the new cursor, in one
    transaction fenced by the lease (a worker that stalled past it commits nothing)."""
    page, reserved, requests = fetched
    name, holder, seconds = lease
    with app.db.write() as conn:
        if not leases.renew_in(conn, name, holder, now, seconds):
            raise LeaseLost(f"{name}: the lease was taken over mid-search; nothing committed")
        result = store_matches(app, conn, stream, account, page.found, now)
        _settle(conn, stream.name, month_of(now), reserved, page.reads, requests, now)
        conn.execute(_cursor_upsert(app, stream.name, account_id, now, value=page.cursor, last_run_at=now,
                                    last_error=None))
    report.pages += 1
    report.found += len(page.found)
    report.stored += len(result.stored)
    report.promoted += len(result.promoted)
    report.reads += page.reads
    report.requests += requests
    return result


# --- listen test ------------------------------------------------------------------------------


def try_query(app: App, query: ListenQuery, account: str, limit: int) -> tuple[list[dict[str, Any]], SearchPage]:
    """``listen test``: what ``query`` matches on ``account`` now, scored as a stream's match
    would be, and what it would become. Stores nothing (not even the spend: no stream owns it)."""
    channel = app.channel(account)
    if not channel.capabilities().search:
        raise UsageError(f"--channel {account}: {channel.label or channel.name} cannot search "
                         "(listening needs a channel that can: docs/listening.md)")
    sq = search_query(query)
    problems = channel.query_problems(sq)
    if problems:
        raise UsageError(f"query refused by {channel.label or channel.name}: " + "; ".join(problems))
    if not channel.search_page_min <= limit <= channel.search_page_max:
        raise UsageError(f"--limit must be from {channel.search_page_min} to {channel.search_page_max} on "
                         f"{channel.label or channel.name}, not {limit}")
    channel.request_count = 0
    page = channel.search(sq, None, limit=limit)
    rules = app.settings.leads
    with app.db.read() as conn:
        own = own_handles(app, conn)
    rows = []
    for f in page.found:
        score, lines = score_found(app, f, None, account)
        ignored = ignore_reason(f.person, rules, own)
        rows.append({
            "id": f.external_id, "handle": f.person.handle, "name": f.person.name, "text": f.text, "url": f.url,
            "occurred_at": f.occurred_at, "term": sq.matched_term(f.text, f.person.handle, f.lang), "score": score,
            "why": [{"reason": r, "points": p} for r, p in lines],
            "would": f"ignored ({ignored})" if ignored else
            ("follow-up" if score >= rules.task_threshold else "signal (waits for triage)"),
        })
    return rows, page


# --- status -----------------------------------------------------------------------------------


def streams_status(app: App, conn: Any, now: datetime) -> list[dict[str, Any]]:
    """Each stream's spend this month and its next run (for ``status``)."""
    month = month_of(now)
    spend = {r.stream: r for r in conn.execute(select(t.listen_spend).where(t.listen_spend.c.month == month))}
    cursors: dict[str, list[Any]] = {}
    for r in conn.execute(select(t.listen_cursors)):
        cursors.setdefault(r.stream, []).append(r)
    out = []
    for s in app.settings.listen:
        rows = cursors.get(s.name, [])
        last = max((r.last_run_at for r in rows if r.last_run_at), default=None)
        errors = [r.last_error for r in rows if r.last_error]
        spent = spend[s.name].reads if s.name in spend else 0
        out.append({
            "name": s.name, "accounts": s.accounts, "month": month, "reads": spent,
            "requests": spend[s.name].requests if s.name in spend else 0, "monthly_reads": s.monthly_reads,
            "budget_left": max(0, s.monthly_reads - spent), "last_run_at": last,
            "next_run_at": (last + timedelta(seconds=s.interval)) if last else None,
            "interval": s.interval, "error": errors[0] if errors else None,
        })
    return out
