"""The sandbox network: faults, duplicates, the simulated audience and its cursor."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from socialsell.plugins.channel import (
    DuplicateContent,
    OurPost,
    RateLimited,
    Rejected,
    TransientError,
)


@pytest.fixture
def sandbox(app):
    return app.channel("sandbox")


def test_a_queued_fault_fails_one_call_only(sandbox):
    sandbox.queue_fault("rate_limit")
    sandbox.queue_fault("server_error")
    with pytest.raises(RateLimited):
        sandbox.publish("one")
    with pytest.raises(TransientError) as info:
        sandbox.publish("one")
    assert not info.value.maybe_delivered
    published = sandbox.publish("one")
    assert [p.remote_id for p in sandbox.find_recent_posts(sandbox.clock() - timedelta(hours=1))] == [published.remote_id]


def test_timeout_after_send_has_posted(sandbox, clock):
    sandbox.queue_fault("timeout_after_send")
    with pytest.raises(TransientError) as info:
        sandbox.publish("hello")
    assert info.value.maybe_delivered
    assert [p.text for p in sandbox.find_recent_posts(clock.now - timedelta(minutes=1))] == ["hello"]


def test_the_same_text_within_a_day_is_a_duplicate(sandbox, clock):
    sandbox.publish("same")
    with pytest.raises(DuplicateContent):
        sandbox.publish("same")
    clock.advance(hours=25)
    assert sandbox.publish("same").remote_id


def test_unknown_fault_and_unknown_post_are_refused(sandbox):
    with pytest.raises(Rejected, match="unknown fault"):
        sandbox.queue_fault("meteor")
    with pytest.raises(Rejected, match="no post 'p99'"):
        sandbox.inject(post_id="p99", kind="like", handle="@a", text=None)


def test_the_audience_reacts_over_time_and_the_cursor_never_repeats(sandbox, clock):
    post = sandbox.publish("Launch day")
    ours = [OurPost(remote_id=post.remote_id, published_at=clock.now)]
    first, cursor = sandbox.fetch_engagements(None, ours)
    assert first == []  # nobody reacts in the first minutes
    clock.advance(days=2)
    later, cursor = sandbox.fetch_engagements(cursor, ours)
    assert later and len({(e.external_id, e.kind) for e in later}) == len(later)
    again, cursor2 = sandbox.fetch_engagements(cursor, ours)
    assert again == [] and json.loads(cursor2) == json.loads(cursor)
    # deterministic: the same seed and post give the same people
    other = type(sandbox)(sandbox.account)
    other.clock = sandbox.clock
    same, _ = other.fetch_engagements(None, ours)
    assert [e.external_id for e in same] == [e.external_id for e in later]


def test_engage_by_hand_through_the_cli(cli):
    assert cli("post", "new", "--channel", "sandbox", "--text", "Hi", "--at", "+1m").exit_code == 0
    not_yet = cli("sandbox", "engage", "--post", "1", "--kind", "comment", "--from", "@dana", "--text", "Pricing?")
    assert not_yet.exit_code == 2 and "not published yet" in not_yet.output
    unknown = cli("sandbox", "engage", "--post", "1", "--kind", "wave", "--from", "@dana")
    assert unknown.exit_code == 2


def test_poll_faults_fail_one_poll_each_and_the_loop_copes(app, cli, clock):
    from socialsell.loop.polling import poll_account

    sandbox = app.channel("sandbox")
    sandbox.queue_fault("server_error", on="poll")
    sandbox.queue_fault("rate_limit", on="poll")
    first = poll_account(app, "sandbox", "w1", clock.now)
    assert first.error == "sandbox: 503 service unavailable"
    second = poll_account(app, "sandbox", "w1", clock.now)
    assert second.error and second.error.startswith("rate limited until")
    assert poll_account(app, "sandbox", "w1", clock.now).skipped.startswith("rate limited")
    clock.advance(seconds=61)
    third = poll_account(app, "sandbox", "w1", clock.now)
    assert third.error is None and third.skipped is None
    refused = cli("sandbox", "fault", "reject", "--on", "poll")
    assert refused.exit_code == 2 and "unknown fault 'reject' for poll" in refused.output
    assert cli("sandbox", "fault", "auth", "--on", "poll").exit_code == 0


def test_timeline_shows_local_times(app, cli, clock):
    sandbox = app.channel("sandbox")
    sandbox.publish("Morning post")  # at the test clock: 08:00 UTC = 09:00 in Berlin
    out = cli("sandbox", "timeline").output
    assert "Mon 23 Nov 09:00" in out and "T08:00" not in out
