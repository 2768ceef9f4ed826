"""The feedback loop: insights reps recorded with ``task tag`` (objections, pain points, pricing
signals), counted by tag, campaign and topic, and listed newest first with the customer's own
words: what marketing reads each week."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from socialsell.db import schema as t
from socialsell.reports.model import Section, Table, row
from socialsell.reports.queries import D, E, N, P, T, task_source
from socialsell.reports.scope import Scope
from socialsell.timeparse import format_local

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

CA = t.campaigns


def insights(conn: Any, scope: Scope) -> list[dict[str, Any]]:
    """Every insight in the scope, newest first, with its campaign, topic (the post's template) and
    what the customer said last."""
    frm, conds = task_source(scope)
    e1, d1, p1 = E.alias("e_origin"), D.alias("d_origin"), P.alias("p_origin")
    said = (select(E.c.text).where(E.c.task_id == T.c.id, E.c.text.is_not(None))
            .order_by(E.c.occurred_at.desc(), E.c.id.desc()).limit(1).scalar_subquery())
    q = (select(N.c.id, N.c.created_at, N.c.author, N.c.text, T.c.id, t.contacts.c.display_name, CA.c.name,
                p1.c.template, said)
         .select_from(frm.join(N, N.c.task_id == T.c.id).outerjoin(e1, e1.c.id == T.c.first_engagement_id)
                      .outerjoin(d1, d1.c.id == e1.c.delivery_id).outerjoin(p1, p1.c.id == d1.c.post_id)
                      .outerjoin(CA, CA.c.id == p1.c.campaign_id))
         .where(N.c.kind == "insight", scope.in_period(N.c.created_at), *conds)
         .order_by(N.c.created_at.desc(), N.c.id.desc()))
    keys = ("note", "at", "rep", "insight", "task", "contact", "campaign", "topic", "customer_said")
    return [dict(zip(keys, r, strict=True)) for r in conn.execute(q)]


def feedback_section(app: App, scope: Scope) -> Section:
    """Insights counted by tag, campaign and topic, and listed newest first."""
    with app.db.read() as conn:
        found = insights(conn, scope)

    def counted(table: str, key: str) -> list[dict[str, Any]]:
        counts = Counter((r[key] or "(none)") if key != "insight" else r["insight"].strip().lower() for r in found)
        return [row("feedback", table, k, **{key if key != "insight" else "tag": k}, insights=n)
                for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    listed = [row("feedback", "insight", r["note"], when=format_local(r["at"], scope.tz), rep=r["rep"], insight=r["insight"],
                  task=r["task"], contact=r["contact"], campaign=r["campaign"] or "(none)", topic=r["topic"] or "(free text)",
                  customer_said=r["customer_said"] or "") for r in found]
    return Section("feedback", "What customers told sales (insights for marketing)", [
        Table("tag", "By tag", ["tag", "insights"], counted("tag", "insight")),
        Table("campaign", "By campaign", ["campaign", "insights"], counted("campaign", "campaign")),
        Table("topic", "By topic (the post's template)", ["topic", "insights"], counted("topic", "topic")),
        Table("insight", "Newest first", ["when", "rep", "insight", "contact", "campaign", "customer_said"], listed),
    ], notes=["Insights are what reps record with `socialsell task tag ID INSIGHT`; the customer's words are their "
              "latest message on that follow-up."])
