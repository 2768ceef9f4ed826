"""``socialsell run``: the jobs, one pass of them (``--once``), and the APScheduler loop.

The database, not APScheduler's job store, is the source of truth of what is due: every
worker runs the same jobs from the memory job store, and the claims and leases in the
database decide who does what. APScheduler is imported only when the loop starts.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from socialsell.db import schema as t
from socialsell.loop import leases
from socialsell.loop.listening import listen
from socialsell.loop.metrics import refresh_metrics
from socialsell.loop.polling import poll_account
from socialsell.loop.publishing import next_due_at, publish_due, release_all
from socialsell.marketing.evergreen import fill_empty_slots
from socialsell.marketing.recurring import schedule_next_occurrences
from socialsell.plugins.jobs import JobContext
from socialsell.sales.notify import send_digests
from socialsell.sales.rescore import rescore_open_followups
from socialsell.sales.sla import check_sla

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

log = logging.getLogger("socialsell.loop")


@dataclass
class Job:
    id: str
    func: Callable[[JobContext], Any]
    seconds: float
    description: str = ""


HEARTBEAT_SECONDS = 10.0
MAX_IDLE_WAIT = 1.0  # the loop looks at the database at least this often: edits apply at once


@dataclass
class Worker:
    """One running loop: its id (``host:pid:random``, so a dead one on this machine is
    recognised and its claims taken over at once) and what its jobs did, for ``status``."""

    app: App
    id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    started_at: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _running: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _last_beat: float = field(default=0.0, repr=False)

    def job_lock(self, job_id: str) -> threading.Lock:
        with self._lock:
            return self._running.setdefault(job_id, threading.Lock())

    def note(self, job_id: str, **values: Any) -> None:
        """Record something about a job (thread-safe: scheduler threads call it too)."""
        with self._lock:
            self.state.setdefault(job_id, {"runs": 0}).update(values)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self.state.items()}

    def heartbeat(self, now: datetime, stopped: bool = False, *, force: bool = True) -> None:
        """Write this worker's row (throttled to every HEARTBEAT_SECONDS unless forced)."""
        mono = time.monotonic()
        if not force and mono - self._last_beat < HEARTBEAT_SECONDS:
            return
        self._last_beat = mono
        self.started_at = self.started_at or now
        values = {"host": socket.gethostname(), "pid": os.getpid(), "heartbeat_at": now, "jobs": self.snapshot(),
                  "stopped_at": now if stopped else None}
        stmt = self.app.db.insert(t.workers).values(id=self.id, started_at=self.started_at, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["id"], set_=values)
        with self.app.db.write() as conn:
            conn.execute(stmt)


# --- built-in jobs ----------------------------------------------------------------------------


def job_publish(ctx: JobContext) -> Any:
    report = publish_due(ctx.app, ctx.worker)
    if report.published:  # a recurring post went out: queue its next occurrence now

        schedule_next_occurrences(ctx.app, ctx.now)
    return report


def job_content(ctx: JobContext) -> Any:
    """Recurring posts' next occurrences, and (``[marketing] evergreen_autofill``) the
    evergreen pool into empty slots. One worker at a time."""

    with leases.held(ctx.app.db, "job:content", ctx.worker, ctx.now, 600) as ours:
        if not ours:
            return {"skipped": "another worker is on it"}
        result: dict[str, Any] = {"recurring": schedule_next_occurrences(ctx.app, ctx.now)}
        marketing = ctx.app.settings.marketing
        if marketing.evergreen_autofill:
            result["evergreen"] = fill_empty_slots(ctx.app, ctx.now, marketing.evergreen_days)
        return result


def make_poll_job(account: str) -> Callable[[JobContext], Any]:
    def job_poll(ctx: JobContext) -> Any:
        return poll_account(ctx.app, account, ctx.worker)

    return job_poll


def make_listen_job(stream: str) -> Callable[[JobContext], Any]:
    def job_listen(ctx: JobContext) -> Any:

        return listen(ctx.app, stream, ctx.worker, ctx.now)

    return job_listen


def job_sla(ctx: JobContext) -> Any:
    return check_sla(ctx.app, ctx.now)


def job_rescore(ctx: JobContext) -> Any:
    return rescore_open_followups(ctx.app, ctx.worker, ctx.now)


def job_metrics(ctx: JobContext) -> Any:
    return refresh_metrics(ctx.app, ctx.worker, ctx.now)


def job_digest(ctx: JobContext) -> Any:
    return send_digests(ctx.app, ctx.worker, ctx.now)


def build_jobs(app: App) -> list[Job]:
    """The jobs for this workspace, each with a stable id."""
    app.channel_types  # noqa: B018 - loading the plugins and their channels checks the plugins' sections and the accounts' keys: a bad one stops here, before any job
    jobs = [Job("publish", job_publish, 30, "publish due posts (also woken at the next due time)")]
    for name, account in app.workspace.accounts.items():
        try:
            channel = app.channel(name)
        except Exception as e:  # an account whose plugin is missing must not stop the loop
            log.error("account %s: %s", name, e)
            continue
        interval = account.poll_interval or channel.default_poll_interval
        jobs.append(Job(f"poll:{name}", make_poll_job(name), interval, f"poll {name} for engagements"))
    for stream in app.settings.listen:  # a stream that cannot run records why (status), never stops the loop
        jobs.append(Job(f"listen:{stream.name}", make_listen_job(stream.name), stream.interval,
                        f"search for the [[listen]] stream {stream.name}"))
    jobs.append(Job("sla", job_sla, 60, "flag overdue follow-ups, fire sla_breached once"))
    jobs.append(Job("content", job_content, 300, "next occurrences of recurring posts; evergreen autofill"))
    jobs.append(Job("rescore", job_rescore, 3600, "decay the scores of open follow-ups as time passes"))
    jobs.append(Job("metrics", job_metrics, 3600, "refresh post metrics"))
    jobs.append(Job("digest", job_digest, 3600, "send each rep's daily digest"))

    def register(job_id: str, func: Callable[[JobContext], Any], seconds: float = 300, description: str = "") -> None:
        if any(j.id == job_id for j in jobs):
            raise ValueError(f"a job with id {job_id!r} already exists")
        jobs.append(Job(job_id, func, seconds, description))

    app.hook.register_jobs(register=register)
    return jobs


def run_job(worker: Worker, job: Job, now: datetime | None = None) -> Any:
    """Run one job once, recording its outcome. A job already running in this worker (the
    publish job is woken by the main loop and by the scheduler) is skipped, not doubled."""
    lock = worker.job_lock(job.id)
    if not lock.acquire(blocking=False):
        return None
    now = now or worker.app.now()
    started = time.monotonic()
    try:
        result = job.func(JobContext(worker.app, worker.id, now))
        worker.note(job.id, last_run=now.isoformat(), last_error=None)
        log.debug("job %s done", job.id, extra={"event": "job.done", "job": job.id,
                                                "ms": round((time.monotonic() - started) * 1000, 1)})
        return result
    except Exception as e:
        log.exception("job %s failed", job.id, extra={"event": "job.failed", "job": job.id})
        worker.note(job.id, last_run=now.isoformat(), last_error=_one_line(e), last_error_at=now.isoformat())
        return None
    finally:
        with worker._lock:
            entry = worker.state.setdefault(job.id, {"runs": 0})
            entry["runs"] = entry.get("runs", 0) + 1
            entry["next_run"] = (now + timedelta(seconds=job.seconds)).isoformat()
        lock.release()


def _one_line(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".splitlines()
    return text[0] if text else type(e).__name__


def run_once(app: App, worker: Worker | None = None, now: datetime | None = None) -> dict[str, Any]:
    """One pass of every job, in order; returns each job's result (None for a job that failed:
    its error is in ``worker.snapshot()[job_id]["last_error"]``)."""
    worker = worker or Worker(app)
    results = {}
    for job in build_jobs(app):
        results[job.id] = run_job(worker, job, now)
    worker.heartbeat(now or app.now(), stopped=True)
    return results


def run_forever(app: App, worker: Worker | None = None, stop: threading.Event | None = None) -> None:
    """The loop until SIGINT/SIGTERM (or ``stop``): APScheduler runs every job at its interval
    from a memory job store; the main thread also wakes the publish job at the next due time
    (read from the database at least every second), so posts go out within about a second and
    edits, cancellations and new posts apply without a restart. On the way out, running jobs
    finish, then this worker's claims and leases are released and its row marked stopped."""

    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED  # noqa: PLC0415 - APScheduler, only `socialsell run` needs it
    from apscheduler.schedulers.background import BackgroundScheduler  # noqa: PLC0415 - APScheduler, only `socialsell run` needs it

    worker = worker or Worker(app)
    stop = stop or threading.Event()
    settings = app.settings.loop
    jobs = build_jobs(app)
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    start = app.now()
    for job in jobs:
        scheduler.add_job(run_job, "interval", seconds=job.seconds, args=[worker, job], id=job.id,
                          name=job.description or job.id, next_run_time=start, replace_existing=True)

    def on_event(event: Any) -> None:
        kind = {EVENT_JOB_ERROR: "error", EVENT_JOB_MISSED: "missed", EVENT_JOB_MAX_INSTANCES: "max_instances"}[event.code]
        detail = _one_line(event.exception) if getattr(event, "exception", None) else kind
        worker.note(event.job_id, last_event=kind, last_event_at=app.now().isoformat(),
                    **({"last_error": detail} if kind == "error" else {}))
        log.warning("job %s: %s", event.job_id, kind, extra={"event": f"job.{kind}", "job": event.job_id})

    scheduler.add_listener(on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("stopping", extra={"event": "worker.stopping", "signal": signal.Signals(signum).name})
        stop.set()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)
    log.info("worker started", extra={"event": "worker.started", "worker": worker.id, "jobs": [j.id for j in jobs]})
    worker.heartbeat(start)
    scheduler.start()
    publish = next(j for j in jobs if j.id == "publish")
    try:
        while not stop.is_set():
            now = app.now()
            due = next_due_at(app, now, settings)
            wait = MAX_IDLE_WAIT
            if due is not None and due <= now:
                run_job(worker, publish, now)
                wait = 0.0  # more may be due (a full batch): look again at once
                due = next_due_at(app, app.now(), settings)
                if due is not None and due <= app.now():
                    wait = 0.05
                else:
                    wait = MAX_IDLE_WAIT if due is None else min(MAX_IDLE_WAIT, max(0.0, (due - app.now()).total_seconds()))
            elif due is not None:
                wait = min(MAX_IDLE_WAIT, max(0.0, (due - now).total_seconds()))
            for job in scheduler.get_jobs():
                if job.next_run_time is not None and job.id != "publish":
                    worker.note(job.id, next_run=job.next_run_time.isoformat())
            worker.note("publish", next_run=due.isoformat() if due else None)
            worker.heartbeat(app.now(), force=False)
            stop.wait(wait)
    finally:
        scheduler.shutdown(wait=True)  # running jobs finish; none is interrupted mid-call
        release_all(app, worker.id)
        leases.release_all(app.db, worker.id)
        worker.heartbeat(app.now(), stopped=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("worker stopped", extra={"event": "worker.stopped", "worker": worker.id})


def worker_rows(app: App) -> list[dict[str, Any]]:
    with app.db.read() as conn:
        return [dict(r) for r in conn.execute(select(t.workers).order_by(t.workers.c.heartbeat_at.desc()))]


