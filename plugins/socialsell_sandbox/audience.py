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


# --- what the audience says on its own (listening) ----------------------------------------------
# People who talk about the topic on the public timeline, most of whom never engage with our
# posts: listening is how socialsell meets them. Deterministic per seed and hour, so a search
# on the test clock always finds the same posts.


@dataclass(frozen=True)
class Voice:
    handle: str
    name: str
    headline: str
    company: str
    location: str
    followers: int
    lines: tuple[tuple[str, str], ...]  # (language, what they post)


VOICES: tuple[Voice, ...] = (
    Voice("@nora_sdr", "Nora Quinn", "Sales Development Lead at Proseware", "Proseware", "Boston, USA", 1300, (
        ("en", "Any tool that turns LinkedIn comments into follow-ups? Happy to pay for a trial."),
        ("en", "What does a social selling tool cost for a team of 12? Looking for pricing."),
        ("en", "Our reps answer social selling leads days late. There has to be a better way."),
    )),
    Voice("@omar_revops", "Omar Haddad", "RevOps Manager, Datum Corp", "Datum Corp", "Toronto, Canada", 880, (
        ("en", "Half the comments on our posts never reach a rep. #socialselling"),
        ("en", "How do I route social selling replies to the right rep automatically?"),
    )),
    Voice("@lina.growth", "Lina Berg", "Head of Growth at Fourth Coffee", "Fourth Coffee", "Oslo, Norway", 2200, (
        ("en", "@rivalinc support has ignored our ticket for a week. Looking at alternatives."),
        ("en", "Honestly @rivalinc got too expensive for a five-person team."),
    )),
    Voice("@felix_talent", "Felix Grant", "Recruiter", "", "Leeds, UK", 400, (
        ("en", "We are hiring SDRs who love social selling! #socialselling"),
    )),
    Voice("@hanna.vertrieb", "Hanna Vogel", "Vertriebsleiterin, Alpine Ski House", "Alpine Ski House", "Vienna, Austria", 610, (
        ("de", "Kennt jemand ein gutes Tool für Social Selling? Wir brauchen eine Demo."),
    )),
    Voice("@ivan_weekend", "Ivan Petrov", "Cyclist", "", "Sofia, Bulgaria", 90, (
        ("en", "Great ride this morning, 80 km before coffee."),
    )),
)

#: the chance that someone posts in a given hour
POST_CHANCE = 0.15


def public_posts(seed: str, start_hour: int, end_hour: int) -> list[tuple[int, str, Voice, str, str]]:
    """What the audience posted in hours ``[start_hour, end_hour)`` (hours since 1970, UTC):
    ``[(unix seconds, post id, voice, language, text), ...]`` in time order."""
    out = []
    for hour in range(start_hour, end_hour):
        rng = random.Random(hashlib.sha256(f"{seed}:public:{hour}".encode()).hexdigest())
        if rng.random() >= POST_CHANCE:
            continue
        voice = rng.choice(VOICES)
        lang, text = rng.choice(voice.lines)
        out.append((hour * 3600 + rng.randrange(3600), f"s{hour}", voice, lang, text))
    return out
