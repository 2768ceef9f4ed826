"""Per-rep email digests of new and overdue follow-ups (the built-in notifier).

Configured under ``[notify.email]``::

    [notify.email]
    host = "smtp.example.com"
    port = 587
    from = "socialsell@example.com"
    starttls = true
    username = "socialsell"
    password = {env = "SMTP_PASSWORD"}
    send_at = "08:00"        # local time of day from which the day's digest goes out

Each rep with an ``email`` in ``[[team.reps]]`` gets at most one digest per local day, and
only when there is something in it. Any number of workers run the ``digest`` job: a worker
sends a rep's digest only after inserting the lease row ``digest:<rep>:<date>`` (the first
insert wins), so two workers never both send it; a failed send releases the lease so the next run retries.
"""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select

from socialsell.db import schema as t
from socialsell.loop import leases
from socialsell.sales.tasks import is_overdue
from socialsell.timeparse import format_local, local_date_time

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

LEASE_SECONDS = 2 * 86400


def email_settings(app: App) -> dict[str, Any] | None:
    """``[notify.email]`` (checked at load) with the password resolved, or None when not configured."""
    email = app.settings.notify.email
    if email is None:
        return None
    return {
        "host": email.host, "port": email.port, "from": email.sender, "starttls": email.starttls,
        "username": email.username, "password": app.workspace.resolve_secret(email.password, "notify.email.password"),
        "send_at": email.send_at, "timeout": email.timeout,
    }


def digest_for(app: App, rep: str, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """A rep's open tasks created in the last day, and their overdue ones."""
    T, C = t.tasks, t.contacts
    q = select(T.c.id, T.c.status, T.c.priority, T.c.score, T.c.reason, T.c.due_at, T.c.created_at,
               T.c.first_response_at, T.c.next_step_due, T.c.sla_due_at, C.c.display_name, C.c.company)\
        .join(C, C.c.id == T.c.contact_id).where(and_(T.c.owner == rep, T.c.status == "open"))
    with app.db.read() as conn:
        rows = [dict(r) for r in conn.execute(q.order_by(T.c.priority, T.c.due_at, T.c.id)).mappings()]
    overdue = [r for r in rows if is_overdue(r, now)]  # the one definition: tasks --overdue, the SLA job
    new = [r for r in rows if r["created_at"] >= now - timedelta(days=1) and not is_overdue(r, now)]
    return {"new": new, "overdue": overdue}


def render_digest(app: App, rep: str, digest: dict[str, list[dict[str, Any]]]) -> tuple[str, str]:
    """The subject and plain-text body of a digest."""
    tz = app.workspace.timezone
    n_new, n_over = len(digest["new"]), len(digest["overdue"])
    subject = f"socialsell: {n_new} new, {n_over} overdue follow-up{'s' if n_new + n_over != 1 else ''} for {rep}"
    lines = [f"Hi {rep},", ""]
    for title, rows in (("Overdue", digest["overdue"]), ("New", digest["new"])):
        if not rows:
            continue
        lines.append(f"{title}:")
        for r in rows:
            who = (r["display_name"] or "?") + (f" ({r['company']})" if r["company"] else "")
            lines.append(f"  #{r['id']} p{r['priority']} due {format_local(r['due_at'], tz)}  {who}: {r['reason'] or ''}")
        lines.append("")
    lines += ["Work them with: socialsell work", "Or see the list: socialsell tasks", ""]
    return subject, "\n".join(lines)


def send_email(settings: dict[str, Any], to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = settings["from"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(settings["host"], settings["port"], timeout=settings["timeout"]) as smtp:
        if settings["starttls"]:
            smtp.starttls()
        if settings["username"]:
            smtp.login(str(settings["username"]), settings["password"] or "")
        smtp.send_message(msg)


def _claim(app: App, name: str, worker: str, now: datetime) -> bool:
    """Insert the lease row ``name`` unless it exists: the first worker wins, with no expiry race.

    The name carries the date, so the row never needs to expire for the next day's digest.
    """
    stmt = app.db.insert(t.leases).values(name=name, holder=worker, acquired_at=now,
                                   expires_at=now + timedelta(seconds=LEASE_SECONDS))
    with app.db.write() as conn:
        return conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]).returning(t.leases.c.name)).first() is not None


def send_digests(app: App, worker: str, now: datetime | None = None) -> dict[str, Any]:
    """Send each rep with an email address their digest, once per local day, when ``[notify.email]`` is set."""
    now = now or app.now()
    settings = email_settings(app)
    if settings is None:
        return {"skipped": "no [notify.email] configured"}
    tz = app.workspace.timezone
    today = now.astimezone(tz).date()
    if now < local_date_time(today, settings["send_at"], tz):
        return {"skipped": f"digests go out from {settings['send_at'].strftime('%H:%M')}"}
    sent, failed, empty, taken = [], {}, [], []
    for rep in app.workspace.team:
        if not rep.email:
            continue
        lease = f"digest:{rep.name}:{today.isoformat()}"
        with app.db.read() as conn:
            done = conn.execute(select(t.events.c.id).where(and_(
                t.events.c.kind == "notify.digest", t.events.c.subject == lease))).first()
        if done:
            continue
        digest = digest_for(app, rep.name, now)
        if not digest["new"] and not digest["overdue"]:
            empty.append(rep.name)
            continue
        if not _claim(app, lease, worker, now):
            taken.append(rep.name)  # another worker is sending (or sent) it
            continue
        subject, body = render_digest(app, rep.name, digest)
        try:
            send_email(settings, rep.email, subject, body)
        except (OSError, smtplib.SMTPException) as e:
            leases.release(app.db, lease, worker)  # let the next run try again
            failed[rep.name] = f"{type(e).__name__}: {e}"
            continue
        with app.db.write() as conn:
            app.record(conn, "notify.digest", lease, {"to": rep.email, "new": len(digest["new"]),
                                                      "overdue": len(digest["overdue"]), "worker": worker})
        sent.append(rep.name)
    return {"sent": sent, "failed": failed, "empty": empty, "taken": taken}
