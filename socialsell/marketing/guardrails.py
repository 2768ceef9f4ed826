"""Brand guardrails from ``[guardrails]`` in the config, checked at creation and before sending."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App
    from socialsell.channel import Channel


def apply(app: App, text: str, *, channel: Channel, account: str, campaign: dict[str, Any] | None) -> str:
    """Changes the guardrails make to a text (required hashtags, disclaimer)."""
    if campaign:
        for tag in campaign.get("required_hashtags") or []:
            tag = "#" + tag.lstrip("#")
            if tag.lower() not in text.lower():
                text = f"{text} {tag}"
        if campaign.get("disclaimer") and campaign["disclaimer"] not in text:
            text = f"{text}\n{campaign['disclaimer']}"
    return text


def check(app: App, text: str, *, campaign: dict[str, Any] | None = None) -> list[str]:
    """Problems that break the brand rules; empty when the text may go out."""
    rules = app.workspace.section("guardrails")
    problems = []
    for word in rules.get("banned_words", []):
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.I):
            problems.append(f"contains the banned word {word!r} ([guardrails] banned_words)")
    return problems
