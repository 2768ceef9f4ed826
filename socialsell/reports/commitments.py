"""The SLA's commitments, both directions, from ``[sla]`` in socialsell.toml (docs/reports.md).

Sales' first-touch time is the existing ``sla.response_hours``; the rest lives in
``[sla.marketing]`` and ``[sla.sales]``. A commitment left out is reported as "not agreed",
never invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from socialsell.workspace import Workspace


@dataclass(frozen=True)
class Commitments:
    cadence: dict[str, float] = field(default_factory=dict)  # account -> published posts per week
    qualified_leads_per_month: float | None = None
    max_rejected_share: float | None = None
    response_hours: float = 4.0
    touch_qualified_share: float = 1.0
    follow_up_attempts: int | None = None
    insights_per_month: float | None = None


def load_commitments(ws: Workspace) -> Commitments:
    """The agreed SLA, from the typed settings (checked when the workspace loaded)."""
    sla = ws.settings.sla
    return Commitments(
        cadence=dict(sla.cadence),
        qualified_leads_per_month=sla.qualified_leads_per_month,
        max_rejected_share=sla.max_rejected_share,
        response_hours=float(sla.response_hours),
        touch_qualified_share=float(sla.touch_qualified_share),
        follow_up_attempts=sla.follow_up_attempts,
        insights_per_month=sla.insights_per_month,
    )
