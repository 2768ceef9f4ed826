"""The shared lead definition: how an engagement scores, and what score makes a lead.

Configured under ``[leads]`` (weights per kind, intent keywords, ideal customer profile,
thresholds, recency half-life) and extended by the ``score_engagement`` hook (results summed)
and ``qualify_lead`` (first result wins).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
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


_FIND = object()  # score_lines: find the intent keyword in the text


def score_lines(engagement: dict[str, Any], contact: dict[str, Any], rules: LeadRules, app: App | None = None,
                intent: str | None | object = _FIND) -> list[tuple[str, float]]:
    """Why one engagement is worth what it is: ``[(reason, points), ...]``. ``intent``: its
    keyword (:func:`has_intent`) when the caller found it already; ``app``: ask the plugins too."""
    kind = engagement["kind"]
    lines: list[tuple[str, float]] = [(f"{kind} on {engagement.get('channel', 'a channel')}", rules.weights.get(kind, 1.0))]
    text = engagement.get("text")
    kw = has_intent(text, rules) if intent is _FIND else intent
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


def decay_factor(since: datetime, now: datetime, half_life_days: float) -> float:
    """How much of a point from ``since`` is left at ``now``: it halves every ``half_life_days``.

    Not clamped: carried backwards (``now`` before ``since``) it grows again, so a stored sum
    moved to an earlier time and back ends where it started."""
    if half_life_days <= 0:
        return 1.0
    return math.pow(0.5, (now - since).total_seconds() / 86400 / half_life_days)


def decay(points: float, occurred_at: datetime, now: datetime, half_life_days: float) -> float:
    """``points`` earned at ``occurred_at``, as they count at ``now`` (an engagement stamped in
    the future counts in full until its time comes)."""
    return points * decay_factor(min(occurred_at, now), now, half_life_days)


@dataclass(frozen=True)
class KeptPoints:
    """A contact's engagement points as kept between engagements: their sum, each decayed to
    ``at`` (the ``score_points`` and ``scored_at`` columns).

    Decay is a common factor, so the sum decays like one number: carried to a later time it is
    multiplied once, and a new engagement's points are added decayed from when it happened.
    This equals decaying every engagement from its own time (:func:`contact_score`), within
    float rounding, without reading the history again (docs/sales.md, "How a score is kept").
    """

    points: float
    at: datetime

    def to(self, now: datetime, half_life_days: float) -> float:
        """The sum as it stands at ``now``."""
        return self.points * decay_factor(self.at, now, half_life_days)

    def plus(self, earned: Iterable[tuple[float, datetime]], now: datetime, half_life_days: float) -> KeptPoints:
        """Carried to ``now`` with new ``(points, occurred_at)`` added."""
        total = self.to(now, half_life_days)
        for points, occurred_at in earned:
            total += decay(points, occurred_at, now, half_life_days)
        return KeptPoints(total, now)


def score_of(kept: float, fit: list[tuple[str, float]]) -> float:
    """The score: decayed engagement points plus profile fit, rounded to one decimal."""
    return round((kept + sum(p for _, p in fit)) * 10) / 10  # as apportion() rounds


def apportion(lines: list[tuple[str, float]]) -> tuple[float, list[tuple[str, float]]]:
    """Round each line to one decimal so the lines add up to the rounded total exactly (largest
    remainder): ``contact show`` prints lines that sum to the score it shows."""
    total = round(sum(p for _, p in lines) * 10)
    tenths = [math.floor(p * 10) for _, p in lines]
    missing = total - sum(tenths)
    by_remainder = sorted(range(len(lines)), key=lambda i: lines[i][1] * 10 - tenths[i], reverse=True)
    for i in by_remainder[:max(0, missing)]:
        tenths[i] += 1
    return total / 10, [(reason, n / 10) for (reason, _), n in zip(lines, tenths, strict=True)]


def contact_score(
    contact: dict[str, Any], engagements: list[dict[str, Any]], rules: LeadRules, now: datetime
) -> tuple[float, list[tuple[str, float]]]:
    """A contact's score (recency-decayed engagement points plus profile fit) and its explanation,
    from its whole history: what ``contact show`` prints, and the reference the incremental
    score (:class:`KeptPoints`) must equal.

    The score is the exact sum rounded to one decimal; the lines are rounded so that they add
    up to it (:func:`apportion`).
    """
    lines: list[tuple[str, float]] = []
    for e in engagements:
        age = (now - e["occurred_at"]).days
        label = f"{e['kind']} ({'today' if age < 1 else f'{age}d ago'})"
        if e.get("reasons"):
            label += ": " + "; ".join(e["reasons"])
        lines.append((label, decay(e.get("points") or 0.0, e["occurred_at"], now, rules.half_life_days)))
    lines.extend(icp_lines(contact, rules))
    return apportion(lines)


def stage_for(score: float, rules: LeadRules, current: str = "engaged") -> str:
    if current in ("opportunity", "customer", "disqualified"):
        return current
    if score >= rules.qualified_threshold:
        return "qualified"
    if score >= rules.lead_threshold:
        return "lead"
    return "engaged" if current == "engaged" else current
