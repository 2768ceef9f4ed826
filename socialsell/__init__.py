"""socialsell: queue brand posts, turn every reaction into a scored, owned follow-up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.plugins.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]


def __getattr__(name: str) -> Any:
    # `from socialsell import hookimpl` for plugins, without making every command import pluggy
    if name == "hookimpl":
        from socialsell.plugins.hookspecs import hookimpl  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load socialsell.plugins.hookspecs; kept off its path

        return hookimpl
    raise AttributeError(f"module 'socialsell' has no attribute {name!r}")
