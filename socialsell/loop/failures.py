"""What went wrong in one pass of the loop, one line per failure (``socialsell run --once``).

A pass that failed says so: a job that raised, a post that failed or was missed, a poll or a
listening search that failed, and an account that is paused (with the due posts waiting on it: a paused account's
posts are not even claimed, so without this line they would wait in silence).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select

from socialsell.db import schema as t

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App
    from socialsell.loop.worker import Worker

def paused_accounts(app: App) -> dict[str, str]:
    """Configured accounts that are paused, with the reason."""
    A = t.accounts  # tables are built at first use, not at import (socialsell/db/schema.py)
    with app.db.read() as conn:
        rows = conn.execute(select(A.c.name, A.c.paused_reason).where(A.c.status == "paused")).all()
    return {name: reason or "no reason recorded" for name, reason in rows if name in app.workspace.accounts}


def accounts_blocked(app: App, names: list[str]) -> dict[str, str]:
    """Which of ``names`` cannot send now, and why: paused (the database says why), or missing
    its credentials (the channel says, from local state: no network call)."""
    paused = paused_accounts(app)
    blocked = {}
    for name in dict.fromkeys(names):
        if name in paused:
            blocked[name] = f"account paused: {paused[name]}"
        else:
            missing = app.channel(name).missing_credentials()
            if missing:
                blocked[name] = missing
    return blocked


def pass_failures(app: App, worker: Worker, results: dict[str, Any], now: datetime) -> list[str]:
    """One line per failure of the pass whose job results are ``results``."""
    lines = []
    state = worker.snapshot()
    for job_id, result in results.items():
        error = state.get(job_id, {}).get("last_error")
        if result is None and error:
            lines.append(f"job {job_id} failed: {error}")
    publish = results.get("publish")
    ids = (publish.failed + publish.missed) if publish is not None else []
    paused = paused_accounts(app)
    D, A = t.deliveries, t.accounts
    with app.db.read() as conn:
        if ids:
            for post_id, account, status, error in conn.execute(
                    select(D.c.post_id, A.c.name, D.c.status, D.c.error).join(A, A.c.id == D.c.account_id)
                    .where(D.c.id.in_(ids)).order_by(D.c.post_id, D.c.id)):
                lines.append(f"post {post_id} on {account} {status.replace('_', ' ')}: {error or 'no reason recorded'}")
        waiting: dict[str, list[int]] = {}
        for post_id, account in conn.execute(
                select(D.c.post_id, A.c.name).join(A, A.c.id == D.c.account_id)
                .where(and_(A.c.status == "paused", D.c.status == "scheduled", D.c.due_at <= now))
                .order_by(D.c.post_id)):
            waiting.setdefault(account, []).append(post_id)
    for job_id, report in results.items():
        if job_id.startswith("poll:") and report is not None and report.error and report.account not in paused:
            lines.append(f"poll of {report.account} failed: {report.error}")
        if job_id.startswith("listen:") and report is not None:  # one report per account of the stream
            lines += [f"listening {r.stream} on {r.account} failed: {r.error}" for r in report
                      if r.error and r.account not in paused]
    for name, reason in paused.items():
        posts = waiting.get(name, [])
        held = f"; due post{'s' if len(posts) > 1 else ''} {', '.join(map(str, posts))} wait" if posts else ""
        lines.append(f"account {name} paused: {reason}{held} (once fixed: socialsell channels resume {name})")
    return lines
