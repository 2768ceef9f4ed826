"""The shared lead definition: how an engagement scores, and what score makes a lead.

Configured under ``[leads]`` (weights per kind, intent keywords, ideal customer profile,
thresholds, recency half-life) and extended by the ``score_engagement`` hook (results summed)
and ``qualify_lead`` (first result wins).
"""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from socialsell.settings import LeadSettings

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

STAGES = ("engaged", "lead", "qualified", "opportunity", "customer", "disqualified")


# The lead definition is ``[leads]`` of the settings, typed and checked at load
# (socialsell.settings); ``app.settings.leads`` is the one in force.
LeadRules = LeadSettings


@functools.lru_cache(maxsize=16)
def _intent_patterns(keywords: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((kw, re.compile(rf"(?<!\w){re.escape(kw)}")) for kw in keywords)


def has_intent(text: str | None, rules: LeadRules) -> str | None:
    """The intent signal in ``text`` (a keyword), or None."""
    if not text:
        return None
    low = text.lower()
    for kw, pattern in _intent_patterns(tuple(rules.intent_keywords)):
        if kw in low and pattern.search(low):  # the substring test is cheap and rules most out
            return kw
    return None


def score_lines(engagement: dict[str, Any], contact: dict[str, Any], rules: LeadRules, app: App | None = None) -> list[tuple[str, float]]:
    """Why one engagement is worth what it is: ``[(reason, points), ...]``."""
    kind = engagement["kind"]
    lines: list[tuple[str, float]] = [(f"{kind} on {engagement.get('channel', 'a channel')}", rules.weights.get(kind, 1.0))]
    text = engagement.get("text")
    kw = has_intent(text, rules)
    if kw:
        lines.append((f"intent: mentions {kw!r}", rules.intent_points))
    elif text and "?" in text:
        lines.append(("asks a question", rules.question_points))
    if app is not None:
        for contributed in app.hook.score_engagement(engagement=engagement, contact=contact):
            lines.extend((str(reason), float(points)) for reason, points in contributed or [])
    return lines


def icp_lines(contact: dict[str, Any], rules: LeadRules) -> list[tuple[str, float]]:
    """Ideal-customer-profile matches: counted once per contact, not per engagement."""
    lines = []
    headline = (contact.get("headline") or "").lower()
    hit = next((k for k in rules.icp_keywords if k in headline), None)
    if hit:
        lines.append((f"ideal customer profile: headline has {hit!r}", rules.icp_points))
    company = (contact.get("company") or "").lower()
    if company and any(c in company for c in rules.icp_companies):
        lines.append((f"target account: {contact.get('company')}", rules.icp_points))
    location = (contact.get("location") or "").lower()
    if location and any(r in location for r in rules.icp_regions):
        lines.append((f"target region: {contact.get('location')}", rules.icp_points / 2))
    if rules.min_followers and (contact.get("followers") or 0) >= rules.min_followers:
        lines.append((f"audience of {contact.get('followers')} followers", rules.follower_points))
    if rules.verified_points and contact.get("verified"):
        lines.append(("verified account", rules.verified_points))
    return lines


def decay(points: float, occurred_at: datetime, now: datetime, half_life_days: float) -> float:
    age_days = max(0.0, (now - occurred_at).total_seconds() / 86400)
    return points * math.pow(0.5, age_days / half_life_days) if half_life_days > 0 else points


def contact_score(
    contact: dict[str, Any], engagements: list[dict[str, Any]], rules: LeadRules, now: datetime
) -> tuple[float, list[tuple[str, float]]]:
    """A contact's score (recency-decayed engagement points plus profile fit) and its explanation.

    Every line is rounded to one decimal and the score is the sum of the rounded lines, so the
    explanation ``contact show`` prints always adds up to the score it shows.
    """
    explained: list[tuple[str, float]] = []
    for e in engagements:
        pts = round(decay(e.get("points") or 0.0, e["occurred_at"], now, rules.half_life_days), 1)
        age = (now - e["occurred_at"]).days
        label = f"{e['kind']} ({'today' if age < 1 else f'{age}d ago'})"
        if e.get("reasons"):
            label += ": " + "; ".join(e["reasons"])
        explained.append((label, pts))
    for reason, pts in icp_lines(contact, rules):
        explained.append((reason, round(pts, 1)))
    return round(sum(p for _, p in explained), 1), explained


def stage_for(score: float, rules: LeadRules, current: str = "engaged") -> str:
    if current in ("opportunity", "customer", "disqualified"):
        return current
    if score >= rules.qualified_threshold:
        return "qualified"
    if score >= rules.lead_threshold:
        return "lead"
    return "engaged" if current == "engaged" else current
