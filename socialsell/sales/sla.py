"""The response-time SLA: flag overdue follow-ups and escalate, each exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from socialsell.db import schema as t
from socialsell.plugins.views import TaskView
from socialsell.sales.tasks import overdue_clause, wake_snoozed

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


def check_sla(app: App, now: datetime | None = None) -> dict[str, Any]:
    """Fire ``sla_breached`` once per task and level (``overdue``, then ``escalated``).

    Overdue is :func:`~socialsell.sales.tasks.overdue_clause`, as in ``tasks --overdue``. Only
    a task never responded to escalates: a missed next step is flagged ``overdue`` (again for
    each new next step), but the first-response SLA it would escalate was met."""
    now = now or app.now()
    woken = wake_snoozed(app, now)
    escalate_after = app.settings.sla.escalate_after_hours
    fired: list[tuple[int, str]] = []
    with app.db.read() as conn:
        overdue = [dict(r) for r in conn.execute(
            select(t.tasks).where(overdue_clause(now))
        ).mappings()]
        alerted = set(conn.execute(select(t.sla_alerts.c.task_id, t.sla_alerts.c.level)).all())
    for task in overdue:
        levels = ["overdue"]
        if task["first_response_at"] is None and now - task["due_at"] >= timedelta(hours=escalate_after):
            levels.append("escalated")
        for level in levels:
            if (task["id"], level) in alerted:
                continue
            try:
                with app.db.write() as conn:
                    conn.execute(t.sla_alerts.insert().values(task_id=task["id"], level=level, at=now))
                    app.record(conn, f"sla.{level}", f"task:{task['id']}", {"owner": task["owner"]})
            except IntegrityError:  # another worker fired it first
                continue
            fired.append((task["id"], level))
            app.fire("sla_breached", task=TaskView(task), level=level)
    return {"woken": woken, "breaches": fired}
