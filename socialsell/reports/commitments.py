"""The SLA's commitments, both directions, from ``[sla]`` in socialsell.toml (docs/reports.md).

Sales' first-touch time is the existing ``sla.response_hours``; the rest lives in
``[sla.marketing]`` and ``[sla.sales]``. A commitment left out is reported as "not agreed",
never invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from socialsell.config import Workspace
from socialsell.errors import ConfigError


@dataclass(frozen=True)
class Commitments:
    cadence: dict[str, float] = field(default_factory=dict)  # account -> published posts per week
    qualified_leads_per_month: float | None = None
    max_rejected_share: float | None = None
    response_hours: float = 4.0
    touch_qualified_share: float = 1.0
    follow_up_attempts: int | None = None
    insights_per_month: float | None = None


def _number(ws: Workspace, table: dict[str, Any], key: str, path: str, *, share: bool = False,
            whole: bool = False) -> Any:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or (share and value > 1) \
            or (whole and not isinstance(value, int)):
        what = "a share between 0 and 1" if share else "a whole number, 0 or more" if whole else "a number, 0 or more"
        raise ConfigError(ws.config_path, f"{path}.{key}", f"{what}, not {value!r}")
    return value


def load_commitments(ws: Workspace) -> Commitments:
    """The agreed SLA. Raises ConfigError naming the key on a bad value."""
    sla = ws.section("sla")
    marketing, sales = sla.get("marketing", {}), sla.get("sales", {})
    for name, table in (("sla.marketing", marketing), ("sla.sales", sales)):
        if not isinstance(table, dict):
            raise ConfigError(ws.config_path, name, f"a table: [{name}]")
    cadence = marketing.get("cadence", {})
    if not isinstance(cadence, dict):
        raise ConfigError(ws.config_path, "sla.marketing.cadence", "a table of account = posts per week, e.g. { sandbox = 5 }")
    for account in cadence:
        if account not in ws.accounts:
            raise ConfigError(ws.config_path, f"sla.marketing.cadence.{account}",
                              f"a configured channel account ({', '.join(sorted(ws.accounts)) or 'none'})")
        _number(ws, cadence, account, "sla.marketing.cadence")
    touch = _number(ws, sales, "touch_qualified_share", "sla.sales", share=True)
    return Commitments(
        cadence={k: float(v) for k, v in cadence.items()},
        qualified_leads_per_month=_number(ws, marketing, "qualified_leads_per_month", "sla.marketing"),
        max_rejected_share=_number(ws, marketing, "max_rejected_share", "sla.marketing", share=True),
        response_hours=float(sla.get("response_hours", 4)),
        touch_qualified_share=1.0 if touch is None else float(touch),
        follow_up_attempts=_number(ws, sales, "follow_up_attempts", "sla.sales", whole=True),
        insights_per_month=_number(ws, sales, "insights_per_month", "sla.sales"),
    )
