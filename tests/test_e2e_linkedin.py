"""End to end on LinkedIn: the real core drives the real LinkedIn plugin and python-linkedin-v2
against a fake api.linkedin.com (``responses``): publish as a company page, a comment asking
for a demo becomes a task, the rep's reply is a nested comment, page statistics become
post_metrics, and LinkedIn's 422 DUPLICATE_POST and a lost answer are reconciled."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from sqlalchemy import func, select

from socialsell.db import schema as t
from socialsell.loop.metrics import refresh_metrics
from socialsell.loop.polling import poll_account
from socialsell.loop.publishing import publish_due
from socialsell.loop.worker import Worker, run_once
from socialsell.marketing.posts import create_post
from socialsell.sales.tasks import get_task, list_tasks, reply_to_task

from .linkedin_fake import FakeLinkedIn, enc

TOKEN = "AQV-e2e-linkedin-token-0f9e8d"
ORG = "urn:li:organization:2414183"
SHARE = "urn:li:share:7300000000000000001"
ACTIVITY = "urn:li:activity:7300000000000000099"
COMMENT = f"urn:li:comment:({ACTIVITY},7300000000000000501)"
ANN = "urn:li:person:ann123"
LI_ACCOUNT = """
[[accounts]]
name = "acme-li"
channel = "linkedin"
author = "urn:li:organization:2414183"
access_token = {env = "E2E_LINKEDIN_TOKEN"}
"""


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


@pytest.fixture
def li_app(workspace, monkeypatch, clock, make_app):
    monkeypatch.setenv("E2E_LINKEDIN_TOKEN", TOKEN)
    config = Path(workspace)
    text, n = re.subn(r'\[\[accounts\]\]\nname = "sandbox"\n(?:[^\n]+\n)+', "", config.read_text())
    assert n == 1
    config.write_text(text + LI_ACCOUNT)
    clock.now = datetime.now(UTC).replace(microsecond=0)
    return make_app()


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeLinkedIn(rsps)


def delivery_of(app, post_id: int) -> dict:
    with app.db.read() as conn:
        return dict(conn.execute(select(t.deliveries).where(t.deliveries.c.post_id == post_id)).mappings().one())


def assert_clean(request) -> None:
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in request.url and "oauth2_access_token" not in request.url
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert request.headers["LinkedIn-Version"] == "202510"


PAGE_BODY = {
    "author": ORG,
    "commentary": "Launch day \\(finally\\) {hashtag|\\#|B2B}",
    "visibility": "PUBLIC",
    "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
    "lifecycleState": "PUBLISHED",
    "isReshareDisabledByAuthor": False,
}


def test_page_post_comment_task_nested_reply_and_statistics(li_app, fake, clock):
    app = li_app
    post_id = create_post(app, accounts=["acme-li"], text="Launch day (finally) #B2B", at=clock.now)
    fake.on("POST", "/rest/posts", 201, None, {"x-restli-id": SHARE})
    report = publish_due(app, "w1", clock.now)

    (request,) = fake.requests
    assert_clean(request)
    assert json.loads(request.body) == PAGE_BODY
    d = delivery_of(app, post_id)
    assert report.published == [d["id"]]
    assert (d["status"], d["remote_id"], d["remote_url"], d["attempts"]) == (
        "published", SHARE, f"https://www.linkedin.com/feed/update/{SHARE}/", 1)

    # Ann (a VP) comments asking for a demo
    clock.advance(minutes=10)
    fake.on("GET", "/rest/socialMetadata", 200, {"results": {SHARE: {
        "entity": SHARE, "commentsState": "OPEN", "commentSummary": {"count": 1, "topLevelCount": 1}, "reactionSummaries": {}}},
        "statuses": {}, "errors": {}})
    fake.on("GET", f"/rest/socialActions/{enc(SHARE)}/comments", 200, {"paging": {"start": 0, "count": 100, "total": 1}, "elements": [{
        "actor": ANN, "commentUrn": COMMENT, "id": "7300000000000000501", "object": ACTIVITY,
        "message": {"text": "Can we get a demo?"}, "created": {"actor": ANN, "time": ms(clock.now)},
        "commentsSummary": {"totalFirstLevelComments": 0, "aggregatedTotalComments": 0}}]})
    fake.on("GET", "/rest/organizationalEntityNotifications", 200, {"paging": {"start": 0, "count": 100, "total": 0}, "elements": []})
    fake.on("GET", "/rest/people", 200, {"results": {"(id:ann123)": {
        "localizedFirstName": "Ann", "localizedLastName": "Lee", "vanityName": "annlee",
        "localizedHeadline": "VP Operations at Globex"}}, "statuses": {}, "errors": {}})
    before = len(fake.requests)
    poll = poll_account(app, "acme-li", "w1", clock.now)
    assert (poll.error, poll.fetched, poll.new, poll.tasks_created, poll.requests) == (None, 1, 1, 1, 4)
    assert fake.paths()[before:] == [
        ("GET", "/rest/socialMetadata"), ("GET", f"/rest/socialActions/{enc(SHARE)}/comments"),
        ("GET", "/rest/organizationalEntityNotifications"), ("GET", "/rest/people")]
    for r in fake.requests[before:]:
        assert_clean(r)

    (task,) = list_tasks(app, all_owners=True)
    assert (task["owner"], task["status"], task["priority"], task["intent"]) == ("alice", "open", 1, True)
    assert task["reason"] == 'comment with intent (demo): "Can we get a demo?"'
    assert task["contact"]["name"] == "Ann Lee" and task["contact"]["headline"] == "VP Operations at Globex"
    assert task["contact"]["handles"] == [
        {"channel": "linkedin", "handle": "annlee", "profile_url": "https://www.linkedin.com/in/annlee/"}]
    detail = get_task(app, task["id"])
    ((e),) = detail["engagements"]
    assert (e["kind"], e["text"], e["post_id"], e["post_url"]) == (
        "comment", "Can we get a demo?", post_id, f"https://www.linkedin.com/feed/update/{SHARE}/")
    assert e["url"] == f"https://www.linkedin.com/feed/update/{SHARE}/?commentUrn={enc(COMMENT)}"

    # the same comments read again (the count did not change): nothing new, no second task
    before = len(fake.requests)
    poll = poll_account(app, "acme-li", "w1", clock.now)
    assert (poll.new, poll.requests) == (0, 2)
    assert fake.paths()[before:] == [("GET", "/rest/socialMetadata"), ("GET", "/rest/organizationalEntityNotifications")]

    # the rep answers under Ann's comment
    reply_urn = f"urn:li:comment:({ACTIVITY},7300000000000000777)"
    fake.on("POST", f"/rest/socialActions/{enc(COMMENT)}/comments", 201,
            {"actor": ORG, "commentUrn": reply_urn, "id": "7300000000000000777", "object": SHARE,
             "parentComment": COMMENT, "message": {"text": "Hi Ann, sure: does Thursday work?"}},
            {"x-restli-id": "7300000000000000777"})
    before = len(fake.requests)
    result = reply_to_task(app, task["id"], "Hi Ann, sure: does Thursday work?")
    (request,) = fake.requests[before:]
    assert_clean(request)
    assert (request.method, urlsplit(request.url).path) == ("POST", f"/rest/socialActions/{enc(COMMENT)}/comments")
    assert json.loads(request.body) == {"actor": ORG, "object": SHARE, "message": {"text": "Hi Ann, sure: does Thursday work?"},
                                        "parentComment": COMMENT}
    assert result == {"task": task["id"], "remote_id": reply_urn,
                      "url": f"https://www.linkedin.com/feed/update/{SHARE}/?commentUrn={enc(reply_urn)}"}

    # page statistics
    fake.on("GET", "/rest/organizationalEntityShareStatistics", 200, {"paging": {"start": 0, "count": 10}, "elements": [{
        "organizationalEntity": ORG, "share": SHARE,
        "totalShareStatistics": {"uniqueImpressionsCount": 840, "shareCount": 3, "engagement": 0.051, "clickCount": 27,
                                 "likeCount": 12, "impressionCount": 1210, "commentCount": 4}}]})
    before = len(fake.requests)
    assert refresh_metrics(app, "w1", clock.now) == {"stored": 1, "errors": {}}
    (request,) = fake.requests[before:]
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    assert query == {"q": "organizationalEntity", "organizationalEntity": ORG, "shares": f"List({SHARE})"}
    with app.db.read() as conn:
        (m,) = conn.execute(select(t.post_metrics)).mappings().all()
    assert (m["delivery_id"], m["impressions"], m["reach"], m["clicks"], m["likes"], m["replies"], m["reposts"]) == (
        d["id"], 1210, 840, 27, 12, 4, 3)
    assert m["extra"] == {"engagement": 0.051}
    assert len(fake.paths()) == sum(1 for _ in fake.requests)  # nothing unrecorded
    assert [p for p in fake.paths() if p[0] == "POST"] == [
        ("POST", "/rest/posts"), ("POST", f"/rest/socialActions/{enc(COMMENT)}/comments")]


def test_duplicate_post_422_is_published_with_the_existing_urn(li_app, fake, clock):
    app = li_app
    existing = "urn:li:share:7299999999999999999"
    post_id = create_post(app, accounts=["acme-li"], text="Launch day (finally) #B2B", at=clock.now)
    fake.on("POST", "/rest/posts", 422, {"message": f"Content is a duplicate of {existing}", "code": "DUPLICATE_POST", "status": 422})
    report = publish_due(app, "w1", clock.now)
    d = delivery_of(app, post_id)
    assert report.published == [d["id"]] and not report.failed
    assert (d["status"], d["remote_id"], d["remote_url"], d["error"]) == (
        "published", existing, f"https://www.linkedin.com/feed/update/{existing}/", None)
    assert fake.paths() == [("POST", "/rest/posts")]
    clock.advance(minutes=5)
    assert not publish_due(app, "w1", clock.now)
    assert len(fake.requests) == 1


def test_lost_answer_on_publish_is_reconciled_through_the_loop(li_app, fake, clock):
    """LinkedIn created the post but the answer was lost: the loop finds it with
    GET /rest/posts?q=author instead of posting again."""
    app = li_app
    post_id = create_post(app, accounts=["acme-li"], text="Launch day (finally) #B2B", at=clock.now)
    created_at = ms(clock.now)
    fake.on("POST", "/rest/posts", 201, requests.exceptions.ReadTimeout("read timed out"))
    fake.on("GET", "/rest/posts", 200, {"paging": {"start": 0, "count": 100}, "elements": [
        {"id": SHARE, "author": ORG, "commentary": PAGE_BODY["commentary"], "lifecycleState": "PUBLISHED",
         "createdAt": created_at, "publishedAt": created_at}]})
    fake.on("GET", "/rest/socialMetadata", 200, {"results": {}, "statuses": {}, "errors": {}})
    fake.on("GET", "/rest/organizationalEntityNotifications", 200, {"paging": {"total": 0}, "elements": []})
    fake.on("GET", "/rest/organizationalEntityShareStatistics", 200, {"elements": []})
    worker = Worker(app, id="w1")

    run_once(app, worker, clock.now)
    d = delivery_of(app, post_id)
    assert d["status"] == "unknown"
    # the poll reads page mentions only: an unknown delivery is no post of ours yet
    assert fake.paths() == [("POST", "/rest/posts"), ("GET", "/rest/organizationalEntityNotifications")]
    clock.advance(seconds=31)
    results = run_once(app, worker, clock.now)
    assert results["publish"].reconciled == [d["id"]]
    d = delivery_of(app, post_id)
    assert (d["status"], d["remote_id"], d["attempts"]) == ("published", SHARE, 1)
    posts = [p for p in fake.paths() if p[1] == "/rest/posts"]
    assert posts == [("POST", "/rest/posts"), ("GET", "/rest/posts")]
    with app.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.deliveries).where(t.deliveries.c.status == "published")).scalar() == 1


# --- bugs found end to end (fixed; kept as regression tests) ------------------------------------


def _published_with_a_task(app, fake, clock) -> tuple[int, dict]:
    """A page post with Ann's demo comment ingested as a task (the first half of the path above)."""
    post_id = create_post(app, accounts=["acme-li"], text="Launch day (finally) #B2B", at=clock.now)
    fake.on("POST", "/rest/posts", 201, None, {"x-restli-id": SHARE})
    publish_due(app, "w1", clock.now)
    clock.advance(minutes=10)
    fake.on("GET", "/rest/socialMetadata", 200, {"results": {SHARE: {
        "entity": SHARE, "commentSummary": {"count": 1, "topLevelCount": 1}, "reactionSummaries": {}}}})
    fake.on("GET", f"/rest/socialActions/{enc(SHARE)}/comments", 200, {"paging": {"total": 1}, "elements": [{
        "actor": ANN, "commentUrn": COMMENT, "id": "7300000000000000501", "object": ACTIVITY,
        "message": {"text": "Can we get a demo?"}, "created": {"actor": ANN, "time": ms(clock.now)},
        "commentsSummary": {"totalFirstLevelComments": 0, "aggregatedTotalComments": 0}}]})
    fake.on("GET", "/rest/organizationalEntityNotifications", 200, {"paging": {"total": 0}, "elements": []})
    fake.on("GET", "/rest/people", 200, {"results": {"(id:ann123)": {
        "localizedFirstName": "Ann", "localizedLastName": "Lee", "vanityName": "annlee",
        "localizedHeadline": "VP Operations at Globex"}}})
    assert poll_account(app, "acme-li", "w1", clock.now).tasks_created == 1
    (task,) = list_tasks(app, all_owners=True)
    return post_id, task


def test_our_own_reply_read_back_by_the_next_poll_is_not_a_lead(li_app, fake, clock):
    app = li_app
    _, task = _published_with_a_task(app, fake, clock)
    reply_urn = f"urn:li:comment:({ACTIVITY},7300000000000000777)"
    fake.on("POST", f"/rest/socialActions/{enc(COMMENT)}/comments", 201, {"commentUrn": reply_urn})
    reply_to_task(app, task["id"], "Hi Ann, sure: does Thursday work?")

    # the next poll sees our nested reply under Ann's comment, as LinkedIn lists it
    clock.advance(minutes=15)
    fake.routes.pop(("GET", "/rest/socialMetadata"))
    fake.routes.pop(("GET", f"/rest/socialActions/{enc(SHARE)}/comments"))
    fake.on("GET", "/rest/socialMetadata", 200, {"results": {SHARE: {
        "entity": SHARE, "commentSummary": {"count": 2, "topLevelCount": 1}, "reactionSummaries": {}}}})
    fake.on("GET", f"/rest/socialActions/{enc(SHARE)}/comments", 200, {"paging": {"total": 1}, "elements": [{
        "actor": ANN, "commentUrn": COMMENT, "id": "7300000000000000501", "object": ACTIVITY,
        "message": {"text": "Can we get a demo?"}, "created": {"actor": ANN, "time": ms(clock.now)},
        "commentsSummary": {"totalFirstLevelComments": 1, "aggregatedTotalComments": 1}}]})
    fake.on("GET", f"/rest/socialActions/{enc(COMMENT)}/comments", 200, {"paging": {"total": 1}, "elements": [{
        "actor": ORG, "commentUrn": reply_urn, "id": "7300000000000000777", "object": ACTIVITY, "parentComment": COMMENT,
        "message": {"text": "Hi Ann, sure: does Thursday work?"}, "created": {"actor": ORG, "time": ms(clock.now)},
        "commentsSummary": {"totalFirstLevelComments": 0, "aggregatedTotalComments": 0}}]})
    fake.on("GET", "/rest/organizationsLookup", 200, {"results": {"2414183": {"localizedName": "Acme", "vanityName": "acme"}}})
    poll = poll_account(app, "acme-li", "w1", clock.now)
    assert poll.error is None
    with app.db.read() as conn:
        contacts = conn.execute(select(t.contacts.c.display_name).order_by(t.contacts.c.id)).scalars().all()
        tasks = conn.execute(select(func.count()).select_from(t.tasks)).scalar()
    assert (contacts, tasks, poll.tasks_created) == (["Ann Lee"], 1, 0)


def test_duplicate_naming_an_earlier_delivery_is_not_reported_as_published(li_app, fake, clock):
    app = li_app
    first = create_post(app, accounts=["acme-li"], text="Webinar on Thursday, join us", at=clock.now)
    fake.on("POST", "/rest/posts", 201, None, {"x-restli-id": SHARE})
    publish_due(app, "w1", clock.now)
    assert delivery_of(app, first)["remote_id"] == SHARE

    clock.advance(days=7)  # the same text queued again for the next week: LinkedIn refuses it
    second = create_post(app, accounts=["acme-li"], text="Webinar on Thursday, join us", at=clock.now)
    fake.routes.pop(("POST", "/rest/posts"))
    fake.on("POST", "/rest/posts", 422, {"message": f"Content is a duplicate of {SHARE}", "code": "DUPLICATE_POST", "status": 422})
    report = publish_due(app, "w1", clock.now)  # must not raise
    d = delivery_of(app, second)
    assert report.failed == [d["id"]] or report.unknown == [d["id"]]
    assert d["status"] in ("failed", "needs_attention") and "duplicate" in (d["error"] or "").lower()
    assert d["remote_id"] != SHARE
