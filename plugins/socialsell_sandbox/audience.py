"""The simulated audience: personas, and how each reacts to a post (deterministic per seed)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    handle: str
    name: str
    headline: str
    company: str
    location: str
    followers: int
    activity: float  # chance of reacting to a post at all
    style: tuple[str, ...]  # kinds this person tends to use, most likely first
    lines: tuple[str, ...] = ()  # what they write in comments/replies


PERSONAS: tuple[Persona, ...] = (
    Persona("@dana_ops", "Dana Whitfield", "VP Operations at Northwind Logistics", "Northwind Logistics", "Berlin, Germany", 2400, 0.55,
            ("comment", "like"), ("What does pricing look like for a team of 40?", "Could we see a demo next week?", "How do I get this into our CRM?")),
    Persona("@raj.builds", "Raj Patel", "Head of Sales Enablement, Fabrikam", "Fabrikam", "London, UK", 5100, 0.45,
            ("reply", "repost", "like"), ("Is there a trial we could run with 5 reps?", "How does this compare to doing it by hand in a spreadsheet?")),
    Persona("@mei_cto", "Mei Tanaka", "CTO at Contoso Health", "Contoso Health", "Amsterdam, Netherlands", 8800, 0.3,
            ("quote", "comment"), ("Interesting approach. How does it integrate with Salesforce?", "We have been looking for exactly this.")),
    Persona("@lucas_founder", "Lucas Moreau", "Founder & CEO, Tailspin Analytics", "Tailspin Analytics", "Paris, France", 3900, 0.4,
            ("mention", "like"), ("@acme we should talk, what's your pricing for startups?", "@acme nice launch!")),
    Persona("@sofia.revops", "Sofia Lindqvist", "Director of Revenue Operations at Litware", "Litware", "Stockholm, Sweden", 1700, 0.35,
            ("comment", "like"), ("Does it support business-hours SLAs?", "Saving this for our next RevOps sync.")),
    Persona("@growthgabe", "Gabe Okafor", "Growth marketer | newsletters | coffee", "", "Lagos, Nigeria", 12000, 0.6,
            ("like", "repost"), ("Great post!", "Love this framing.")),
    Persona("@anna_k", "Anna Kowalski", "Student, marketing", "", "Warsaw, Poland", 150, 0.5,
            ("like",), ("Nice!",)),
    Persona("@devtom", "Tom Becker", "Software engineer", "Adventure Works", "Munich, Germany", 900, 0.3,
            ("like", "reply"), ("Is there an API?", "Cool.")),
    Persona("@priya.sales", "Priya Raman", "Account Executive at Wide World Importers", "Wide World Importers", "Singapore", 2100, 0.35,
            ("reply", "like"), ("How do I book a demo for my team?", "This is so true.")),
    Persona("@marketing_mo", "Mo Hassan", "Head of Marketing, Blue Yonder Airlines", "Blue Yonder Airlines", "Dubai, UAE", 4300, 0.3,
            ("repost", "comment"), ("Sharing with the team.", "What's the cost per seat?")),
    Persona("@botlike123", "Deals Bot", "Automated deals and giveaways", "", "", 40, 0.8, ("like", "repost"), ()),
    Persona("@competitor_co", "Rival Inc", "The other social selling tool", "Rival Inc", "", 6000, 0.2, ("like",), ()),
    Persona("@jules_design", "Jules Martin", "Designer", "", "Lyon, France", 600, 0.25, ("like",), ("Beautiful.",)),
    Persona("@kenji_vp", "Kenji Sato", "VP Sales EMEA at Coho Winery", "Coho Winery", "Madrid, Spain", 3300, 0.3,
            ("comment", "like"), ("We'd like a quote for 25 seats.", "Following.")),
    Persona("@ellen.cfo", "Ellen Brooks", "CFO at Trey Research", "Trey Research", "Dublin, Ireland", 1200, 0.15,
            ("like", "comment"), ("What's the contract length?",)),
    Persona("@sam_smb", "Sam Rivera", "Owner, Rivera Bikes", "Rivera Bikes", "Lisbon, Portugal", 350, 0.35,
            ("reply", "like"), ("Would this work for a shop of 3 people?", "Thanks for sharing")),
)

KIND_DELAY_MINUTES = {"like": (1, 240), "repost": (2, 360), "comment": (2, 600), "reply": (2, 480),
                      "quote": (5, 720), "mention": (10, 1440)}
FIRST_REACTION_MINUTES = 1  # someone always reacts within a minute: `socialsell run` shows the loop at work at once


def reactions(post_id: str, seed: str) -> list[tuple[int, Persona, str, str | None]]:
    """Who reacts to a post, how and when: ``[(delay_minutes, persona, kind, text), ...]`` by delay.

    Like a real audience, most reactions come early and a long tail follows hours later (the delay
    is skewed towards the start of each kind's range), and the first reaction comes within
    ``FIRST_REACTION_MINUTES``."""
    rng = random.Random(hashlib.sha256(f"{seed}:{post_id}".encode()).hexdigest())
    out = []
    for p in PERSONAS:
        if rng.random() >= p.activity:
            continue
        kind = p.style[0] if rng.random() < 0.65 or len(p.style) == 1 else rng.choice(p.style[1:])
        lo, hi = KIND_DELAY_MINUTES.get(kind, (10, 600))
        delay = lo + round((hi - lo) * rng.random() ** 3)
        text = rng.choice(p.lines) if kind in ("comment", "reply", "quote", "mention") and p.lines else None
        out.append((delay, p, kind, text))
    out.sort(key=lambda r: (r[0], r[1].handle))
    if out:
        out[0] = (min(out[0][0], FIRST_REACTION_MINUTES), *out[0][1:])
    return out
