"""What the loop does for the marketer beyond publishing: recurring series, campaign rules at
sending time, and a manual retry that starts afresh."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from socialsell.db import schema as t
from socialsell.loop.publishing import PublishSettings, publish_due
from socialsell.loop.worker import Worker, build_jobs, run_job
from socialsell.marketing.campaigns import create_campaign
from socialsell.marketing.posts import create_post, get_post, parse_recurrence, retry_post


def _jobs(app):
    return {j.id: j for j in build_jobs(app)}


def test_the_publish_job_queues_the_next_occurrence_of_a_recurring_post(app, clock):
    rec = parse_recurrence(app, "7d", None, 3)
    first = create_post(app, accounts=["sandbox"], text="Weekly tip", at=clock.now + timedelta(minutes=5), recurrence=rec)
    worker, jobs = Worker(app, id="w1"), _jobs(app)
    assert "content" in jobs
    clock.advance(minutes=6)
    run_job(worker, jobs["publish"], clock.now)
    with app.db.read() as conn:
        posts = conn.execute(select(t.posts.c.id, t.posts.c.recurrence_parent_id).order_by(t.posts.c.id)).all()
    assert [p.id for p in posts][0] == first and len(posts) == 2 and posts[1].recurrence_parent_id == first
    nxt = get_post(app, posts[1].id)["deliveries"][0]
    assert nxt["status"] == "scheduled" and nxt["due_at"] == get_post(app, first)["deliveries"][0]["due_at"] + timedelta(days=7)
    run_job(worker, jobs["content"], clock.now)  # idempotent: no third occurrence before the second is out
    with app.db.read() as conn:
        assert len(conn.execute(select(t.posts.c.id)).all()) == 2


def test_campaign_rules_are_checked_again_at_sending_time(app, clock):
    create_campaign(app, "launch", hashtags=["acme"])
    post_id = create_post(app, accounts=["sandbox"], text="Big news", at=clock.now + timedelta(minutes=1), campaign="launch")
    assert "#acme" in get_post(app, post_id)["deliveries"][0]["text"]
    with app.db.write() as conn:  # the campaign now also requires a disclaimer the post lacks
        conn.execute(update(t.campaigns).values(disclaimer="Ad. Terms apply."))
    clock.advance(minutes=2)
    report = publish_due(app, "w1", clock.now)
    d = get_post(app, post_id)["deliveries"][0]
    assert report.failed == [d["id"]] and d["status"] == "failed" and "Terms apply" in d["error"]
    assert app.channel("sandbox").find_recent_posts(clock.now - timedelta(hours=1)) == []


def test_a_manual_retry_gets_a_fresh_set_of_attempts(app, clock):
    settings = PublishSettings(max_attempts=2, backoff_base=1, backoff_cap=1)
    post_id = create_post(app, accounts=["sandbox"], text="Try hard", at=clock.now + timedelta(minutes=1))
    app.channel("sandbox").queue_fault("timeout_before_send", 2)
    for _ in range(2):
        clock.advance(minutes=2)
        publish_due(app, "w1", clock.now, settings)
    assert get_post(app, post_id)["deliveries"][0]["status"] == "failed"
    retry_post(app, post_id)
    app.channel("sandbox").queue_fault("timeout_before_send", 1)
    publish_due(app, "w1", clock.now, settings)  # one transient error: must not fail it outright
    d = get_post(app, post_id)["deliveries"][0]
    assert d["status"] == "scheduled" and d["attempts"] == 1
    clock.advance(minutes=2)
    publish_due(app, "w1", clock.now, settings)
    assert get_post(app, post_id)["deliveries"][0]["status"] == "published"
