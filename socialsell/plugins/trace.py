"""``SOCIALSELL_TRACE_PLUGINS=1``: every hook call, its arguments and its results, on stderr.

For plugin authors: see which hooks the core calls, with what, and what each plugin answered.
Values are shown by ``repr`` and cut at 200 characters; a channel's settings never appear (a
hook receives views and names, not accounts).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pluggy

ENV = "SOCIALSELL_TRACE_PLUGINS"
WIDTH = 200


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def enable_if_asked(pm: pluggy.PluginManager) -> None:
    """Trace ``pm``'s hook calls when ``SOCIALSELL_TRACE_PLUGINS`` is set (not "" or "0")."""
    if os.environ.get(ENV, "") in ("", "0"):
        return

    def before(hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        args = ", ".join(f"{k}={_short(v)}" for k, v in kwargs.items())
        plugins = ", ".join(impl.plugin_name for impl in hook_impls) or "no plugin"
        print(f"[plugins] {hook_name}({args}) -> {plugins}", file=sys.stderr)

    def after(outcome: Any, hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        if outcome.exception is not None:
            print(f"[plugins] {hook_name} raised {type(outcome.exception).__name__}: {outcome.exception}", file=sys.stderr)
        else:
            print(f"[plugins] {hook_name} returned {_short(outcome.get_result())}", file=sys.stderr)

    pm.add_hookcall_monitoring(before, after)
