"""``socialsell run``: the jobs, one pass of them (``--once``), and the APScheduler loop.

The database, not APScheduler's job store, is the source of truth of what is due: every
worker runs the same jobs from the memory job store, and the claims and leases in the
database decide who does what. APScheduler is imported only when the loop starts.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from socialsell.db import schema as t

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

log = logging.getLogger("socialsell.loop")


@dataclass
class JobContext:
    """What a job receives: the app, this worker's id, and the time of the run."""

    app: App
    worker: str
    now: datetime


@dataclass
class Job:
    id: str
    func: Callable[[JobContext], Any]
    seconds: float
    description: str = ""


@dataclass
class Worker:
    app: App
    id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
    state: dict[str, dict[str, Any]] = field(default_factory=dict)

    def heartbeat(self, now: datetime, stopped: bool = False) -> None:
        if self.app.db.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        values = {"host": socket.gethostname(), "pid": os.getpid(), "heartbeat_at": now, "jobs": self.state,
                  "stopped_at": now if stopped else None}
        stmt = insert(t.workers).values(id=self.id, started_at=now, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["id"], set_=values)
        with self.app.db.write() as conn:
            conn.execute(stmt)


# --- built-in jobs ----------------------------------------------------------------------------


def job_publish(ctx: JobContext) -> Any:
    from socialsell.publishing import publish_due

    return publish_due(ctx.app, ctx.worker)


def make_poll_job(account: str) -> Callable[[JobContext], Any]:
    def job_poll(ctx: JobContext) -> Any:
        from socialsell.polling import poll_account

        return poll_account(ctx.app, account, ctx.worker)

    return job_poll


def job_sla(ctx: JobContext) -> Any:
    from socialsell.sales.sla import check_sla

    return check_sla(ctx.app, ctx.now)


def job_metrics(ctx: JobContext) -> Any:
    from socialsell.metrics import refresh_metrics

    return refresh_metrics(ctx.app, ctx.worker, ctx.now)


def job_digest(ctx: JobContext) -> Any:
    from socialsell.sales.notify import send_digests

    return send_digests(ctx.app, ctx.worker, ctx.now)


def build_jobs(app: App) -> list[Job]:
    """The jobs for this workspace, each with a stable id."""
    jobs = [Job("publish", job_publish, 30, "publish due posts (also woken at the next due time)")]
    for name, account in app.workspace.accounts.items():
        try:
            channel = app.channel(name)
        except Exception as e:  # an account whose plugin is missing must not stop the loop
            log.error("account %s: %s", name, e)
            continue
        interval = account.poll_interval or channel.default_poll_interval
        jobs.append(Job(f"poll:{name}", make_poll_job(name), interval, f"poll {name} for engagements"))
    jobs.append(Job("sla", job_sla, 60, "flag overdue follow-ups, fire sla_breached once"))
    jobs.append(Job("metrics", job_metrics, 3600, "refresh post metrics"))
    jobs.append(Job("digest", job_digest, 3600, "send each rep's daily digest"))

    def register(job_id: str, func: Callable[[JobContext], Any], seconds: float = 300, description: str = "") -> None:
        if any(j.id == job_id for j in jobs):
            raise ValueError(f"a job with id {job_id!r} already exists")
        jobs.append(Job(job_id, func, seconds, description))

    app.hook.register_jobs(register=register)
    return jobs


def run_job(worker: Worker, job: Job, now: datetime | None = None) -> Any:
    now = now or worker.app.now()
    entry = worker.state.setdefault(job.id, {"runs": 0})
    try:
        result = job.func(JobContext(worker.app, worker.id, now))
        entry.update(last_run=now.isoformat(), last_error=None)
        return result
    except Exception as e:
        log.exception("job %s failed", job.id)
        entry.update(last_run=now.isoformat(), last_error=f"{type(e).__name__}: {e}")
        return None
    finally:
        entry["runs"] += 1
        entry["next_run"] = (now + timedelta(seconds=job.seconds)).isoformat()


def run_once(app: App, worker: Worker | None = None, now: datetime | None = None) -> dict[str, Any]:
    """One pass of every job, in order; returns each job's result."""
    worker = worker or Worker(app)
    results = {}
    for job in build_jobs(app):
        results[job.id] = run_job(worker, job, now)
    worker.heartbeat(now or app.now())
    return results


def run_forever(app: App, worker: Worker | None = None, stop: Any = None) -> None:
    """The loop: APScheduler runs every job at its interval; publishing also wakes at the
    next due time so posts go out within about a second."""
    import signal
    import threading

    from apscheduler.schedulers.background import BackgroundScheduler

    from socialsell.publishing import next_due_at, release_all

    worker = worker or Worker(app)
    stop = stop or threading.Event()
    jobs = build_jobs(app)
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    for job in jobs:
        scheduler.add_job(run_job, "interval", seconds=job.seconds, args=[worker, job], id=job.id,
                          next_run_time=app.now(), replace_existing=True)

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("stopping", extra={"event": "worker.stopping", "signal": signum})
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    worker.heartbeat(app.now())
    scheduler.start()
    publish = next(j for j in jobs if j.id == "publish")
    try:
        while not stop.is_set():
            now = app.now()
            due = next_due_at(app, now)
            wait = 5.0
            if due is not None:
                wait = max(0.0, min(wait, (due - now).total_seconds()))
                if wait == 0.0:
                    run_job(worker, publish, now)
                    wait = 0.2
            worker.heartbeat(now)
            stop.wait(wait)
    finally:
        scheduler.shutdown(wait=True)
        release_all(app, worker.id)
        from socialsell import leases

        leases.release_all(app.db, worker.id)
        worker.heartbeat(app.now(), stopped=True)


def worker_rows(app: App) -> list[dict[str, Any]]:
    with app.db.read() as conn:
        return [dict(r) for r in conn.execute(select(t.workers).order_by(t.workers.c.heartbeat_at.desc()))]


