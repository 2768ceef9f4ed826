"""``socialsell report``: both sides of the sales-marketing SLA, marketing and sales figures,
revenue attributed to posts, and reps' insights for marketing (docs/reports.md).

One module per section computes it (:mod:`.sla`, :mod:`.marketing`, :mod:`.sales`,
:mod:`.attribution`, :mod:`.feedback`, :mod:`.advocacy`), aggregating in SQL; rendering is separate
(:mod:`.render_text`, :mod:`.render_data`, :mod:`.render_html`), so ``--format json`` never
imports rich or the plotting library.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from socialsell.errors import UsageError
from socialsell.reports.model import Section, Table, row
from socialsell.reports.scope import MODELS, Scope, build_scope

if TYPE_CHECKING:  # pragma: no cover
    import pluggy

    from socialsell.app import App

Compute = Callable[["App", Scope], Section]

#: section name -> "module:function"; imported only when the section is asked for
SECTIONS = {
    "sla": "socialsell.reports.sla:sla_section",
    "marketing": "socialsell.reports.marketing:marketing_section",
    "sales": "socialsell.reports.sales:sales_section",
    "attribution": "socialsell.reports.attribution:attribution_section",
    "feedback": "socialsell.reports.feedback:feedback_section",
    "advocacy": "socialsell.reports.advocacy:advocacy_section",
}

__all__ = ["MODELS", "SECTIONS", "Scope", "Section", "Table", "build_report", "build_scope", "collector_paused",
           "no_last_collection", "plugin_sections", "row"]


def plugin_sections(pm: pluggy.PluginManager) -> dict[str, Compute]:
    """Sections that plugins add through the ``register_report_sections`` hook."""
    found: dict[str, Compute] = {}

    def register(name: str, compute: Compute) -> None:
        if name in SECTIONS or name in found:
            raise UsageError(f"a plugin registers the report section {name!r}, which exists already")
        found[name] = compute

    pm.hook.register_report_sections(register=register)
    return found


def build_report(app: App, scope: Scope, extra: dict[str, Compute] | None = None) -> list[Section]:
    """Every section the scope asks for (all of them, built-in then ``extra``, unless
    ``scope.section`` names one)."""

    extra = extra or {}
    names = [scope.section] if scope.section else [*SECTIONS, *extra]
    out = []
    for name in names:
        if name in extra:
            out.append(extra[name](app, scope))
            continue
        module, func = SECTIONS[name].split(":")
        out.append(getattr(importlib.import_module(module), func)(app, scope))
    return out


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a report is built, back as it was after.

    A report allocates many short-lived objects (SQL statements and their compiled forms, rows,
    tables built at first use) that reference counting frees; the collector, triggered by the
    count of allocations, would scan every object alive, the modules' included, over and over: a
    third of the Python-side time of ``report --format json`` on the benchmark workspace (about
    20 ms, docs/reports.md "Speed"). Whatever cycles the report leaves are collected at the next
    collection after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def no_last_collection() -> None:
    """Spare the process the cycle collector's last full pass when it exits.

    When the interpreter exits, after ``atexit``, it runs one full collection over every object
    still alive; after a report those are hundreds of thousands (the modules, SQLAlchemy's tables
    and compiled statements), about 80 ms on the benchmark workspace, for memory the operating
    system takes back anyway (docs/reports.md, "Speed"). ``gc.freeze()`` at exit moves them out
    of that pass. Registered once however often a report runs in one process (tests run the CLI
    in-process): only the exit is concerned, never a collection while the process works."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
