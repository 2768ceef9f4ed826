"""The feedback loop: insights reps recorded with ``task tag`` (objections, pain points, pricing
signals), counted by tag, campaign and topic, and listed newest first with the customer's own
words; and what listening heard (``signal tag``: market and competitor insights from people who
talk about the topic, not to us, docs/listening.md): what marketing reads each week."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from socialsell.db import schema as t
from socialsell.reports.model import Section, Table, row
from socialsell.reports.queries import D, E, N, P, T, task_source
from socialsell.reports.scope import Scope
from socialsell.timeparse import format_local

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

CA = t.campaigns


#: how many insights the list shows (the counts cover them all)
LISTED = 50


def _insight_source(scope: Scope) -> tuple[Any, list[Any], Any, Any]:
    """(FROM, WHERE, origin engagement, origin post) for the insights in the scope."""
    frm, conds = task_source(scope)
    e1, d1, p1 = E.alias("e_origin"), D.alias("d_origin"), P.alias("p_origin")
    frm = (frm.join(N, N.c.task_id == T.c.id).outerjoin(e1, e1.c.id == T.c.first_engagement_id)
           .outerjoin(d1, d1.c.id == e1.c.delivery_id).outerjoin(p1, p1.c.id == d1.c.post_id)
           .outerjoin(CA, CA.c.id == p1.c.campaign_id))
    return frm, [N.c.kind == "insight", scope.in_period(N.c.created_at), *conds], e1, p1


def insights(conn: Any, scope: Scope, limit: int | None = LISTED) -> list[dict[str, Any]]:
    """The newest insights in the scope with their campaign, topic (the template of the post that
    started the conversation) and the customer's own words (what they wrote when it started)."""
    frm, where, e1, p1 = _insight_source(scope)
    q = (select(N.c.id, N.c.created_at, N.c.author, N.c.text, T.c.id, t.contacts.c.display_name, CA.c.name,
                p1.c.template, e1.c.text)
         .select_from(frm).where(*where).order_by(N.c.created_at.desc(), N.c.id.desc()).limit(limit))
    keys = ("note", "at", "rep", "insight", "task", "contact", "campaign", "topic", "customer_said")
    return [dict(zip(keys, r, strict=True)) for r in conn.execute(q).all()]


class InsightGroup:
    """How many insights share a tag, campaign, topic, author and week."""

    __slots__ = ("tag", "campaign", "topic", "author", "week", "n")

    def __init__(self, tag: str, campaign: str | None, topic: str | None, author: str | None, week: int, n: int) -> None:
        self.tag, self.campaign, self.topic, self.author, self.week, self.n = tag, campaign, topic, author, week, n


def insight_groups(app: App, scope: Scope) -> list[InsightGroup]:
    """Every insight in the scope counted in SQL by tag (lower case), campaign, topic, author and
    week: one statement serves the counts here and the SLA's insights commitment."""
    return scope.shared("insights", lambda: _read_groups(app, scope))


def _read_groups(app: App, scope: Scope) -> list[InsightGroup]:
    frm, where, _, p1 = _insight_source(scope)
    inner = (select(func.lower(func.trim(N.c.text)).label("tag"), CA.c.name.label("campaign"),
                    p1.c.template.label("topic"), N.c.author.label("author"),
                    scope.week_of(N.c.created_at).label("week"))
             .select_from(frm).where(*where).subquery())
    keys = (inner.c.tag, inner.c.campaign, inner.c.topic, inner.c.author, inner.c.week)
    with app.db.read() as conn:
        return [InsightGroup(*r) for r in conn.execute(select(*keys, func.count()).group_by(*keys)).all()]


def insight_counts(app: App, scope: Scope) -> dict[str, Counter[str]]:
    """Every insight in the scope counted by tag, campaign and topic."""
    out: dict[str, Counter[str]] = {"tag": Counter(), "campaign": Counter(), "topic": Counter()}
    for g in insight_groups(app, scope):
        for key in out:
            out[key][getattr(g, key) or "(none)"] += g.n
    return out


def heard(conn: Any, scope: Scope, limit: int | None = LISTED) -> list[dict[str, Any]]:
    """Signals tagged with an insight in the scope (period, channel account), newest first. A
    signal has no campaign nor owner: those filters leave them out."""
    S = t.signals
    if scope.campaign is not None or scope.owner is not None:
        return []
    where = [S.c.insight.is_not(None), scope.in_period(S.c.tagged_at)]
    if scope.account_id is not None:
        where.append(S.c.account_id == scope.account_id)
    q = (select(S.c.id, S.c.tagged_at, S.c.tagged_by, S.c.insight_about, S.c.insight, S.c.stream, S.c.handle, S.c.text)
         .where(*where).order_by(S.c.tagged_at.desc(), S.c.id.desc()).limit(limit))
    keys = ("signal", "at", "by", "about", "insight", "stream", "who", "they_said")
    return [dict(zip(keys, r, strict=True)) for r in conn.execute(q)]


def feedback_section(app: App, scope: Scope) -> Section:
    """Insights counted by tag, campaign and topic, and the newest listed; then what listening heard."""
    with app.db.read() as conn:
        found = insights(conn, scope)
        listened = heard(conn, scope)
    counts = insight_counts(app, scope)

    def counted(table: str, key: str) -> list[dict[str, Any]]:
        return [row("feedback", table, k, **{key: k}, insights=n)
                for k, n in sorted(counts[key].items(), key=lambda kv: (-kv[1], kv[0]))]

    listed = [row("feedback", "insight", r["note"], when=format_local(r["at"], scope.tz), rep=r["rep"], insight=r["insight"],
                  task=r["task"], contact=r["contact"], campaign=r["campaign"] or "(none)", topic=r["topic"] or "(free text)",
                  customer_said=r["customer_said"] or "") for r in found]
    return Section("feedback", "What customers told sales (insights for marketing)", [
        Table("tag", "By tag", ["tag", "insights"], counted("tag", "tag")),
        Table("campaign", "By campaign", ["campaign", "insights"], counted("campaign", "campaign")),
        Table("topic", "By topic (the post's template)", ["topic", "insights"], counted("topic", "topic")),
        Table("insight", f"The newest {LISTED} (newest first)" if sum(counts["tag"].values()) > LISTED else "Newest first", ["when", "rep", "insight", "contact", "campaign", "customer_said"], listed),
        Table("heard", "What listening heard (market and competitor insights, newest first)",
              ["when", "about", "insight", "who", "stream", "they_said"],
              [row("feedback", "heard", r["signal"], when=format_local(r["at"], scope.tz), by=r["by"], about=r["about"],
                   insight=r["insight"], who=r["who"], stream=r["stream"], they_said=" ".join((r["they_said"] or "").split()))
               for r in listened]),
    ], notes=["Insights are what reps record with `socialsell task tag ID INSIGHT`; the customer's words are what "
              "they wrote when the follow-up started. What listening heard is what people said in public about the "
              "topic or a competitor, tagged with `socialsell signal tag ID INSIGHT`."])
