"""Per-rep digests of new and overdue follow-ups (the built-in notifier)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


def send_digests(app: App, worker: str, now: datetime | None = None) -> dict[str, Any]:
    """Send each rep with an email address a digest once a day, when ``[notify.email]`` is set."""
    settings = app.workspace.section("notify").get("email")
    if not settings:
        return {"skipped": "no [notify.email] configured"}
    return {"skipped": "email digests are not implemented yet"}
