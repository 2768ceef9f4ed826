"""``socialsell status``: what the loop is doing, read from the database."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from socialsell.db import schema as t
from socialsell.loop.leases import holder_is_dead
from socialsell.loop.listening import streams_status
from socialsell.redact import redact_url
from socialsell.sales.crm import all_states as crm_states

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

ALIVE_SECONDS = 60  # six missed heartbeats (socialsell.loop.HEARTBEAT_SECONDS)


def collect_status(app: App) -> dict[str, Any]:
    now = app.now()
    app.account_ids()
    with app.db.read() as conn:
        counts = dict(conn.execute(select(t.deliveries.c.status, func.count()).group_by(t.deliveries.c.status)).all())
        due_now = conn.execute(select(func.count()).where(t.deliveries.c.status == "scheduled", t.deliveries.c.due_at <= now)).scalar()
        next_due = conn.execute(select(func.min(t.deliveries.c.due_at)).where(t.deliveries.c.status == "scheduled")).scalar()
        accounts = [dict(r) for r in conn.execute(select(t.accounts).order_by(t.accounts.c.name)).mappings()]
        workers = [dict(r) for r in conn.execute(select(t.workers).order_by(t.workers.c.heartbeat_at.desc()).limit(20)).mappings()]
        open_tasks = conn.execute(select(func.count()).where(t.tasks.c.status == "open")).scalar()
        overdue = conn.execute(select(func.count()).where(t.tasks.c.status == "open", t.tasks.c.due_at < now)).scalar()
        crms = crm_states(conn)
        listening = streams_status(app, conn, now) if app.settings.listen else []

    for w in workers:
        w["alive"] = (w["stopped_at"] is None and now - w["heartbeat_at"] < timedelta(seconds=ALIVE_SECONDS)
                      and not holder_is_dead(w["id"]))
        w["jobs"] = [{"id": job_id, "runs": j.get("runs", 0), "last_run": j.get("last_run"), "next_run": j.get("next_run"),
                      "last_error": j.get("last_error"), "last_event": j.get("last_event")}
                     for job_id, j in sorted((w["jobs"] or {}).items())]
    return {
        "id": app.workspace.name,
        "workspace": app.workspace.name,
        "database": redact_url(app.workspace.db_url),
        "database_version": app.db.server_version(),
        "sqlite_library": sqlite3.sqlite_version if app.db.is_sqlite else None,
        "queue": {
            "depth": sum(counts.get(s, 0) for s in ("scheduled", "sending", "unknown")),
            "due_now": due_now, "next_due_at": next_due,
            **{s: counts.get(s, 0) for s in ("draft", "approved", "scheduled", "sending", "unknown", "published",
                                             "failed", "missed", "needs_attention", "cancelled")},
        },
        "tasks": {"open": open_tasks, "overdue": overdue},
        "accounts": [{
            "name": a["name"], "channel": a["channel"], "status": a["status"], "paused_reason": a["paused_reason"],
            "paused": a["status"] == "paused",
            "rate_limited": bool(a["rate_limited_until"] and a["rate_limited_until"] > now),
            "rate_limited_until": a["rate_limited_until"], "last_poll_at": a["last_poll_at"],
            "last_poll_requests": a["last_poll_requests"], "last_poll_error": a["last_poll_error"],
            "error": a["last_poll_error"] or a["paused_reason"],
        } for a in accounts],
        "workers": workers,
        "crm": [{"name": c["crm"], "status": c["status"], "paused_reason": c["paused_reason"],
                 "rate_limited_until": c["rate_limited_until"],
                 "rate_limited": bool(c["rate_limited_until"] and c["rate_limited_until"] > now),
                 "last_sync_at": c["last_sync_at"], "last_error": c["last_error"]} for c in crms],
        "listening": listening,
    }
