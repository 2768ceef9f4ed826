"""Open follow-ups' scores decay with time, and the list re-orders accordingly."""

from __future__ import annotations

import pytest

from socialsell.loop.polling import poll_account
from socialsell.sales.contacts import contact_detail
from socialsell.sales.rescore import rescore_open_followups
from socialsell.sales.tasks import list_tasks

from .conftest import publish_quietly


def test_scores_decay_and_the_stage_stays(db_url, make_app, clock):
    app = make_app(db_url)
    publish_quietly(app, clock)
    sandbox = app.channel("sandbox")
    sandbox.inject(post_id="p1", kind="comment", handle="@old", text="Following this, looks great", at=clock.now)
    sandbox.inject(post_id="p1", kind="comment", handle="@old", text="Sharing with my team", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    (task,) = list_tasks(app, all_owners=True)
    assert (task["score"], task["priority"], task["contact"]["stage"]) == (16.0, 2, "lead")

    assert rescore_open_followups(app, "w", clock.now) == {"rescored": 0, "open": 1}  # nothing changed yet
    clock.advance(days=28)  # two half-lives
    assert rescore_open_followups(app, "w", clock.now) == {"rescored": 1, "open": 1}
    (task,) = list_tasks(app, all_owners=True)
    contact = contact_detail(app, task["contact"]["id"])
    assert task["score"] == contact["score"] == pytest.approx(4.0)
    assert sum(p for _, p in contact["score_explained"]) == pytest.approx(contact["score"])
    assert all("28d ago" in reason for reason, _ in contact["score_explained"])
    assert task["priority"] == 4 and contact["stage"] == "lead"  # time alone never demotes a stage


def test_a_fresh_question_overtakes_a_stale_one(make_app, clock):
    app = make_app()
    publish_quietly(app, clock)
    sandbox = app.channel("sandbox")
    sandbox.inject(post_id="p1", kind="reply", handle="@stale", text="Interesting, following", at=clock.now)
    sandbox.inject(post_id="p1", kind="like", handle="@stale", text=None, at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    clock.advance(days=30)
    sandbox.inject(post_id="p1", kind="comment", handle="@fresh", text="Nice one", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    rescore_open_followups(app, "w", clock.now)
    scores = {t["contact"]["name"]: t["score"] for t in list_tasks(app, all_owners=True)}
    assert scores["fresh"] > scores["stale"]
