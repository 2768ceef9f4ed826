"""Incremental scores (docs/sales.md, "How a score is kept") equal the full recompute from history.

Ingest keeps each contact's engagement points decayed to a stored time and adds new points to
them; the hourly rescore decays that sum. Both must give what decaying every engagement from
its own time gives (``contact_score``, what ``contact show`` prints), within float rounding:
checked on random histories, in pure arithmetic and through the real ingest on the test clock.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from socialsell.db import schema as t
from socialsell.plugins.channel import Engagement, Person
from socialsell.sales.contacts import full_score
from socialsell.sales.ingest import ingest
from socialsell.sales.rescore import rescore_open_followups
from socialsell.sales.scoring import KeptPoints, decay

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

#: one engagement: its points, and how long before its poll it happened (hours)
engagement = st.tuples(st.floats(0, 40, allow_nan=False), st.floats(0, 24 * 60))
#: a history: polls (hours since the previous one, the engagements it brings)
history = st.lists(st.tuples(st.floats(0, 24 * 90), st.lists(engagement, max_size=6)), min_size=1, max_size=12)


@given(history, st.sampled_from([0.0, 0.5, 3.0, 14.0, 365.0]), st.floats(0, 24 * 400))
def test_kept_points_equal_decaying_each_engagement(polls, half_life, later_hours):
    kept, now, every = KeptPoints(0.0, START), START, []
    for gap, engagements in polls:
        now += timedelta(hours=gap)
        earned = [(points, now - timedelta(hours=ago)) for points, ago in engagements]
        kept = kept.plus(earned, now, half_life)
        every += earned
    read_at = now + timedelta(hours=later_hours)  # decayed on read, or by the hourly job
    full = sum(decay(points, at, read_at, half_life) for points, at in every)
    assert math.isclose(kept.to(read_at, half_life), full, rel_tol=1e-9, abs_tol=1e-9)


KINDS = ("like", "repost", "reply", "comment", "mention", "quote")
TEXTS = (None, "great post", "what does it cost for 20 seats?", "is there a trial?", "agreed")
ingested = st.lists(st.tuples(
    st.floats(0, 24 * 30),  # hours to the next poll
    st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(TEXTS), st.floats(0, 24 * 20)), min_size=1, max_size=4),
    st.booleans(),  # the hourly rescore runs after this poll
), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(polls=ingested)
def test_ingest_and_rescore_keep_the_score_of_the_full_recompute(make_app, clock, polls):
    """Random histories of one new person each, through the real ingest and rescore job on the
    test clock: the kept points decayed to now equal the full recompute from the stored history,
    and the score shown is the recompute's (rounded alike, so equal up to one rounding step)."""
    app = make_app()
    app.account_ids()
    person = Person(f"@p{clock.now.timestamp():.0f}", "P", headline="VP Sales", company="Acme")
    for n, (gap, engagements, rescore) in enumerate(polls):
        clock.advance(hours=gap)
        batch = [Engagement(external_id=f"{person.handle}-{n}-{i}", kind=kind, person=person, text=text,
                            occurred_at=clock.now - timedelta(hours=ago), url=None)
                 for i, (kind, text, ago) in enumerate(engagements)]
        with app.db.write() as conn:
            result = ingest(app, conn, "sandbox", batch, clock.now)
        result.fire_hooks(app)
        if rescore:
            rescore_open_followups(app, "w", clock.now)
    rules = app.settings.leads

    def stored_and_full():
        with app.db.read() as conn:
            row = dict(conn.execute(select(t.contacts).where(
                t.contacts.c.origin == f"sandbox:{person.handle}")).mappings().one())
            return row, full_score(conn, row, rules, clock.now)

    row, full = stored_and_full()  # as the last poll (or rescore) left it
    kept = KeptPoints(row["score_points"], row["scored_at"]).to(clock.now, rules.half_life_days)
    assert math.isclose(kept, full["score_points"], rel_tol=1e-9, abs_tol=1e-9)
    assert abs(row["score"] - full["score"]) <= 0.1 + 1e-9  # the same sum, rounded alike
    clock.advance(days=3)  # the hourly job decays the kept points of an open follow-up
    rescore_open_followups(app, "w", clock.now)
    row, full = stored_and_full()
    with app.db.read() as conn:
        task_score = conn.execute(select(t.tasks.c.score).where(
            t.tasks.c.contact_id == row["id"], t.tasks.c.status == "open")).scalar()
    if task_score is not None:
        assert abs(row["score"] - full["score"]) <= 0.1 + 1e-9 and task_score == row["score"]


def test_a_contact_scored_before_0004_is_kept_from_its_history_once(make_app, clock):
    """A contact whose points were never kept (``scored_at`` NULL, as after the upgrade to 0004)
    gets them from its history on its next engagement, then incrementally."""
    app = make_app()
    app.account_ids()
    dana = Person("@dana", "Dana", headline="VP Operations")

    def poll(*engagements):
        with app.db.write() as conn:
            return ingest(app, conn, "sandbox", list(engagements), clock.now)

    poll(Engagement("e1", "comment", dana, clock.now, text="nice"))
    with app.db.write() as conn:  # as 0004 leaves a contact scored by the old ingest
        conn.execute(update(t.contacts).values(score_points=0.0, scored_at=None))
    clock.advance(days=14)
    poll(Engagement("e2", "like", dana, clock.now))
    with app.db.read() as conn:
        points, at = conn.execute(select(t.contacts.c.score_points, t.contacts.c.scored_at)).one()
    assert at == clock.now and points == pytest.approx(8 / 2 + 1)  # the comment halved, the like whole


def test_times_written_by_the_bulk_path_compare_as_core_writes_them(db_url, make_app, clock):
    """Ingest's executemany stores times as SQLAlchemy does (on SQLite the text
    ``2026-11-23 08:00:00.000000``; sqlite3's own adapter drops ``.000000``, and text comparison
    would then put a whole-second time before itself)."""
    app = make_app(db_url)
    app.account_ids()
    with app.db.write() as conn:
        ingest(app, conn, "sandbox", [Engagement("q1", "comment", Person("@q", "Q"), clock.now, text="price?")], clock.now)
    with app.db.read() as conn:
        assert conn.execute(select(t.tasks.c.id).where(t.tasks.c.created_at == clock.now)).scalar() is not None
        assert conn.execute(select(t.engagements.c.id).where(t.engagements.c.occurred_at == clock.now)).scalar() is not None
        assert conn.execute(select(t.contacts.c.id).where(t.contacts.c.scored_at == clock.now)).scalar() is not None
