"""The response-time SLA: flag overdue follow-ups and escalate, each exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from socialsell.db import schema as t
from socialsell.plugins.views import TaskView
from socialsell.sales.lists import first_touch_deadline, overdue_clause
from socialsell.sales.tasks import wake_snoozed

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


def check_sla(app: App, now: datetime | None = None) -> dict[str, Any]:
    """Fire ``sla_breached`` once per task and level (``overdue``, then ``escalated``).

    Overdue is :func:`~socialsell.sales.lists.overdue_clause`, as in ``tasks --overdue``: a task
    never responded to is late from its first-touch deadline (a next step given before the first
    touch moves its due time, not the deadline). Only a task never responded to escalates,
    ``escalate_after_hours`` past that deadline: a missed next step is flagged ``overdue`` (again
    for each new next step), but the first-response SLA it would escalate was met."""
    now = now or app.now()
    woken = wake_snoozed(app, now)
    escalate_after = timedelta(hours=app.settings.sla.escalate_after_hours)
    T = t.tasks
    fired: list[tuple[int, str]] = []
    with app.db.read() as conn:
        overdue = [dict(r) for r in conn.execute(
            select(T, first_touch_deadline().label("deadline")).where(overdue_clause(now))
            .order_by(T.c.id)
        ).mappings()]
        alerted = set(conn.execute(select(t.sla_alerts.c.task_id, t.sla_alerts.c.level)).all())
    for task in overdue:
        deadline = task.pop("deadline")
        levels = ["overdue"]
        if task["first_response_at"] is None and deadline is not None and now - deadline >= escalate_after:
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
