"""The advocacy section: what reps' shares of brand posts from their own accounts brought, beside
the brand's own posts (docs/advocacy.md, docs/reports.md).

Each published delivery counts for the brand, or for the rep whose share it is (the ``shares``
table): its latest reach and impressions, its engagements, the leads it opened (a follow-up
whose first engagement was on it) and the revenue of the deals won from those follow-ups in the
period. The per-delivery figures, and whose share each is, are the marketing section's (one SQL
query, read once per report); the revenue is one more grouped query.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select

from socialsell.reports.marketing import published, totals
from socialsell.reports.model import Section, Table, row
from socialsell.reports.queries import DL, E, T
from socialsell.reports.scope import Scope

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

BRAND = "brand"
FIGURES = ["posts", "reach", "impressions", "engagements", "engagement_rate", "leads", "qualified", "won", "revenue"]


def _won_by_delivery(conn: Any, scope: Scope) -> dict[int, tuple[int, float]]:
    """Deals won in the period, by the delivery whose engagement opened their follow-up."""
    q = (select(E.c.delivery_id, func.count(), func.coalesce(func.sum(DL.c.amount), 0))
         .select_from(DL.join(T, T.c.id == DL.c.task_id).join(E, E.c.id == T.c.first_engagement_id))
         .where(and_(DL.c.stage == "won", scope.in_period(DL.c.closed_at), E.c.delivery_id.is_not(None)))
         .group_by(E.c.delivery_id))
    return {d: (int(n), float(amount)) for d, n, amount in conn.execute(q)}


def advocacy_section(app: App, scope: Scope) -> Section:
    """Reach, engagements, leads and revenue of the brand's posts and of each rep's shares."""
    rows = published(app, scope)
    with app.db.read() as conn:
        won = _won_by_delivery(conn, scope)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["shared_by"] or BRAND].append(r)
    for rep in (r.name for r in app.workspace.team):  # every rep, shares or not: who has not started
        if any(a.owner == rep for a in app.workspace.accounts.values()):
            groups.setdefault(rep, [])
    by_source = [_source_row(name, groups[name], won) for name in [BRAND, *sorted(n for n in groups if n != BRAND)]]
    shares = [row("advocacy", "share", r["delivery"], rep=r["shared_by"], post=r["post"], account=r["channel"],
                  mode=r["mode"], published_at=r["published_at"], reach=r["reach"] if r["reach"] is not None else "n/a",
                  engagements=r["engagements"], leads=r["leads"], revenue=won.get(r["delivery"], (0, 0.0))[1])
              for r in rows if r["shared_by"] is not None]
    return Section("advocacy", "Advocacy: the brand's posts and the reps' shares", [
        Table("source", "Brand and reps side by side", ["source", *FIGURES], by_source, chart=("bar", "source", "reach")),
        Table("share", "Reps' shares", ["rep", "post", "account", "mode", "reach", "engagements", "leads", "revenue"],
              shares),
    ], notes=[
        "A rep's figures are those of their own shares (socialsell share): reach as their account's network counts it, "
        "the people who engaged there (routed to that rep), the leads opened and the deals won from them in the period.",
    ])


def _source_row(name: str, rows: list[dict[str, Any]], won: dict[int, tuple[int, float]]) -> dict[str, Any]:
    figures = totals(rows)
    deals = [won[r["delivery"]] for r in rows if r["delivery"] in won]
    return row("advocacy", "source", name, source=name,
               **{k: figures[k] for k in ("posts", "reach", "impressions", "engagements", "engagement_rate", "leads",
                                          "qualified")},
               won=sum(n for n, _ in deals), revenue=round(sum(a for _, a in deals), 2))
