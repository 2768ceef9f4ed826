"""``socialsell report``: both sides of the sales-marketing SLA, marketing and sales figures,
revenue attributed to posts, and reps' insights for marketing (docs/reports.md).

One module per section computes it (:mod:`.sla`, :mod:`.marketing`, :mod:`.sales`,
:mod:`.attribution`, :mod:`.feedback`), aggregating in SQL; rendering is separate
(:mod:`.render_text`, :mod:`.render_data`, :mod:`.render_html`), so ``--format json`` never
imports rich or the plotting library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialsell.reports.model import Section, Table
from socialsell.reports.scope import MODELS, Scope, build_scope

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

#: section name -> "module:function"; imported only when the section is asked for
SECTIONS = {
    "sla": "socialsell.reports.sla:sla_section",
    "marketing": "socialsell.reports.marketing:marketing_section",
    "sales": "socialsell.reports.sales:sales_section",
    "attribution": "socialsell.reports.attribution:attribution_section",
    "feedback": "socialsell.reports.feedback:feedback_section",
}

__all__ = ["MODELS", "SECTIONS", "Scope", "Section", "Table", "build_report", "build_scope"]


def build_report(app: App, scope: Scope) -> list[Section]:
    """Every section the scope asks for (all of them unless ``scope.section`` names one)."""
    import importlib

    names = [scope.section] if scope.section else list(SECTIONS)
    out = []
    for name in names:
        module, func = SECTIONS[name].split(":")
        out.append(getattr(importlib.import_module(module), func)(app, scope))
    return out
