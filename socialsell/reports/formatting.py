"""How a figure reads in a table or the HTML report: shares as percentages, money with
separators, unknown as "-", and short column labels so a section fits 80 columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

SHARES = ("rate", "share", "attainment", "conversion", "return_on_spend")
LABELS = {
    "engagement_rate": "eng%", "engagements": "eng", "impressions": "impr", "frequency": "freq",
    "qualified": "qual",
    "attainment": "on time", "win_rate": "win%", "revenue_per_post": "rev/post", "cost_per_lead": "cost/lead",
    "cost_per_qualified": "cost/qual", "return_on_spend": "ROS", "days_to_won_median": "days to won", "days_to_won": "days",
    "customer_said": "customer said", "meetings": "mtgs", "response_median_h": "med h", "response_p90_h": "p90 h",
}


def label(column: str) -> str:
    return LABELS.get(column, column)


def cell(column: str, value: Any, row: dict[str, Any] | None = None) -> str:
    """``value`` of ``column`` as text; a row whose ``unit`` is "share" shows its numbers as percentages."""
    if row is not None and row.get("unit") == "share" and isinstance(value, float):
        column = "share"
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and any(s in column for s in SHARES):
        return f"{value:.0%}" if abs(value) >= 0.1 or value == 0 else f"{value:.2%}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
