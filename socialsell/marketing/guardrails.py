"""Brand guardrails from ``[guardrails]`` in the config, checked at creation and before sending.

::

    [guardrails]
    banned_words = ["guarantee", "free money"]
    required_hashtags = []            # on every post
    disclaimer = ""                   # appended to every post
    [guardrails.utm]
    enabled = true                    # tag links with utm_source / utm_medium / utm_campaign
    medium = "social"
    source = {x = "twitter"}          # default: the channel type (x, linkedin, sandbox)

A campaign adds its own required hashtags, disclaimer and ``utm_campaign`` name.
:func:`apply` makes the changes (adds what is required, tags links); :func:`check` reports
what still breaks the rules. The channel's length limit is the channel's own
``validate`` (counted as the network counts), checked alongside.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App
    from socialsell.plugins.channel import Channel

URL = re.compile(r"https?://[^\s<>\"')\]]+", re.I)
_TRAILING = ".,;:!?"


def _hashtags(app: App, campaign: dict[str, Any] | None) -> list[str]:
    tags = list(app.settings.guardrails.required_hashtags)
    if campaign:
        tags += list(campaign.get("required_hashtags") or [])
    return list(dict.fromkeys("#" + str(t).lstrip("#") for t in tags if str(t).strip("# ")))


def _disclaimers(app: App, campaign: dict[str, Any] | None) -> list[str]:
    out = [app.settings.guardrails.disclaimer.strip()]
    if campaign:
        out.append(str(campaign.get("disclaimer") or "").strip())
    return [d for d in dict.fromkeys(out) if d]


def _has_tag(text: str, tag: str) -> bool:
    return re.search(rf"(?<![\w#]){re.escape(tag)}(?!\w)", text, re.I) is not None


def utm_settings(app: App) -> dict[str, Any]:
    """``[guardrails.utm]`` (checked at load): ``enabled``, ``medium``, ``source`` per channel type."""
    utm = app.settings.guardrails.utm
    return {"enabled": utm.enabled, "medium": utm.medium, "source": utm.source}


def tag_links(text: str, *, source: str, medium: str, campaign: str | None) -> str:
    """Add UTM parameters to every link that has none yet (never double-tags)."""

    def tag(m: re.Match[str]) -> str:
        url = m.group(0)
        tail = ""
        while url and url[-1] in _TRAILING:
            url, tail = url[:-1], url[-1] + tail
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if any(k.lower().startswith("utm_") for k, _ in query):
            return url + tail
        query += [("utm_source", source), ("utm_medium", medium)]
        if campaign:
            query.append(("utm_campaign", campaign))
        return urlunsplit(parts._replace(query=urlencode(query))) + tail

    return URL.sub(tag, text)


def apply(app: App, text: str, *, channel: Channel, account: str, campaign: dict[str, Any] | None,
          utm: str | bool | None = None) -> str:
    """The text with what the rules add: required hashtags, disclaimers, UTM-tagged links.

    ``utm`` is a template's front matter ``utm``: a name for ``utm_campaign`` (when the post
    has no campaign), or ``false`` to leave its links untagged.
    """
    for tag in _hashtags(app, campaign):
        if not _has_tag(text, tag):
            text = f"{text} {tag}"
    for disclaimer in _disclaimers(app, campaign):
        if disclaimer not in text:
            text = f"{text}\n{disclaimer}"
    settings = utm_settings(app)
    if settings["enabled"] and utm is not False:
        source = str(settings["source"].get(channel.name, channel.name))
        name = (campaign.get("utm_campaign") or campaign.get("name")) if campaign else None
        text = tag_links(text, source=source, medium=settings["medium"], campaign=name or (utm if isinstance(utm, str) else None))
    return text


def check(app: App, text: str, *, campaign: dict[str, Any] | None = None) -> list[str]:
    """Problems that break the brand rules; empty when the text may go out.

    Called by ``post new`` / ``post edit`` on the text before the channel prepares it, and by
    the publisher on what readers will see of the text about to be sent (``Channel.readable``),
    so a rule added since still holds.
    """
    problems = []
    for word in app.settings.guardrails.banned_words:
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.I):
            problems.append(f"contains the banned word {word!r} ([guardrails] banned_words)")
    where = f"campaign {campaign['name']!r}" if campaign else "[guardrails]"
    for tag in _hashtags(app, campaign):
        if not _has_tag(text, tag):
            problems.append(f"is missing the required hashtag {tag} ({where})")
    for disclaimer in _disclaimers(app, campaign):
        if disclaimer not in text:
            problems.append(f"is missing the disclaimer {disclaimer!r} ({where})")
    return problems


def check_reply(app: App, text: str) -> list[str]:
    """Problems with a reply to a person (``task reply``, ``work``): the banned words, as for a
    post. Required hashtags and disclaimers are for brand posts ("on every post"), not for a
    one-to-one answer; the channel's own length rules are checked by the caller."""
    problems = []
    for word in app.settings.guardrails.banned_words:
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.I):
            problems.append(f"contains the banned word {word!r} ([guardrails] banned_words)")
    return problems
