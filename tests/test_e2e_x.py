"""End to end on X: the real core (posts, publishing, polling, tasks, replies, metrics, the loop
and the CLI) drives the real X plugin and the real tweepy; only the network is fake.

``FakeX`` is a small stateful X at the HTTP layer (``responses``): what we post lands on our
timeline, X's duplicate-content check refuses the same text twice, and each ``POST /2/tweets``
can be told to fail the way X and networks fail (429, 401, 503, a read timeout, a reset after
the request arrived, a process killed mid-call). Every request is recorded, so the tests
assert exact bodies and exact request counts.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from http.client import RemoteDisconnected
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from sqlalchemy import select

from socialsell.db import schema as t
from socialsell.loop.metrics import refresh_metrics
from socialsell.loop.polling import poll_account
from socialsell.loop.publishing import publish_due
from socialsell.loop.worker import Worker, run_once
from socialsell.marketing.posts import create_post
from socialsell.sales.tasks import get_task, list_tasks, reply_to_task

API = "https://api.twitter.com/2"
ME = "100"
KEYS = {
    "E2E_X_CONSUMER_KEY": "e2e-consumer-key-aaaa1111",
    "E2E_X_CONSUMER_SECRET": "e2e-consumer-secret-bbbb2222",
    "E2E_X_ACCESS_TOKEN": "e2e-access-token-cccc3333",
    "E2E_X_ACCESS_SECRET": "e2e-access-secret-dddd4444",
}
X_ACCOUNT = """
[[accounts]]
name = "acme-x"
channel = "x"
handle = "@acme"
user_id = "100"
consumer_key = {env = "E2E_X_CONSUMER_KEY"}
consumer_secret = {env = "E2E_X_CONSUMER_SECRET"}
access_token = {env = "E2E_X_ACCESS_TOKEN"}
access_token_secret = {env = "E2E_X_ACCESS_SECRET"}
"""
GINA = {  # looks like the ideal customer: a VP in Germany (alice's territory)
    "id": "201", "name": "Gina Vance", "username": "globexvp", "description": "VP Sales at Globex",
    "location": "Berlin, Germany", "url": "", "public_metrics": {"followers_count": 1200, "following_count": 80},
}
RANDO = {
    "id": "301", "name": "Rand O", "username": "randomdev", "description": "I write code",
    "location": "", "url": "", "public_metrics": {"followers_count": 3, "following_count": 9},
}
TEXT = "Our 2027 plan is out: fewer meetings, more shipping"


class ProcessKilled(BaseException):
    """The worker dies mid-call (nothing after the call runs, only ``finally`` blocks)."""


def snowflake(when: datetime, seq: int) -> str:
    return str(((int(when.timestamp() * 1000) - 1288834974657) << 22) + seq)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeX:
    """Our account (id 100, @acme), other people's tweets, likes; served like API v2."""

    def __init__(self, rsps: responses.RequestsMock, clock):
        self.rsps = rsps
        self.clock = clock
        self.tweets: dict[str, dict] = {}
        self.ours: list[str] = []  # our timeline, oldest first
        self.users = {ME: {"id": ME, "name": "Acme", "username": "acme"}, GINA["id"]: GINA, RANDO["id"]: RANDO}
        self.mention_ids: list[str] = []
        self.likers: dict[str, list[str]] = {}
        #: what the next POST /2/tweets do, in order; "ok" when empty
        self.post_mode: list[str] = []
        #: timeline reads that do not show our newest tweet yet (X's timeline lags)
        self.timeline_lag = 0
        self.ignore_since_id = False
        self.rate_reset = 0
        self.calls: list[tuple[str, str, dict, dict | None]] = []
        self._seq = 0
        rsps.add_callback("POST", f"{API}/tweets", self.create_tweet)
        rsps.add_callback("GET", re.compile(rf"{API}/users/{ME}/tweets"), self.timeline)
        rsps.add_callback("GET", re.compile(rf"{API}/users/{ME}/mentions"), self.mentions)
        rsps.add_callback("GET", re.compile(rf"{API}/tweets/\d+/liking_users"), self.liking_users)
        rsps.add_callback("GET", re.compile(rf"{API}/tweets\?"), self.get_tweets)

    # -- the world

    def _new_id(self) -> str:
        self._seq += 1
        return snowflake(self.clock.now, self._seq)

    def _store(self, text: str, author: str, **extra) -> str:
        tid = self._new_id()
        self.tweets[tid] = {
            "id": tid, "text": text, "author_id": author, "conversation_id": tid,
            "created_at": iso(self.clock.now), **extra,
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0,
                               "bookmark_count": 0, "impression_count": 0},
            "non_public_metrics": {"impression_count": 0, "url_link_clicks": 0, "user_profile_clicks": 0, "engagements": 0},
        }
        return tid

    def mention(self, user: dict, text: str) -> str:
        tid = self._store(text, user["id"])
        self.mention_ids.append(tid)
        return tid

    def like(self, post: str, user: dict) -> None:
        self.likers.setdefault(post, []).insert(0, user["id"])
        self.tweets[post]["public_metrics"]["like_count"] += 1

    # -- what was asked

    def _record(self, request, name: str) -> dict:
        params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        body = json.loads(request.body) if request.method == "POST" and request.body else None
        self.calls.append((name, urlsplit(request.url).path, params, body))
        return params

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    def posts_sent(self) -> list[dict]:
        return [c[3] for c in self.calls if c[0] == "create_tweet"]

    # -- routes

    def create_tweet(self, request):
        self._record(request, "create_tweet")
        body = json.loads(request.body)
        mode = self.post_mode.pop(0) if self.post_mode else "ok"
        if mode == "429":
            return 429, {"x-rate-limit-reset": str(self.rate_reset), "x-rate-limit-remaining": "0"}, json.dumps(
                {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429})
        if mode == "401":
            return 401, {}, json.dumps({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
        if mode == "reply403":
            return 403, {}, json.dumps({
                "detail": "Reply to this conversation is not allowed because you have not been mentioned or otherwise "
                          "engaged by the author of the post you are replying to.",
                "title": "Forbidden", "type": "about:blank", "status": 403})
        if any(self.tweets[i]["text"] == body["text"] for i in self.ours):
            return 403, {}, json.dumps({"detail": "You are not allowed to create a Tweet with duplicate content.",
                                        "type": "about:blank", "title": "Forbidden", "status": 403})
        extra = {}
        if "reply" in body:
            parent = body["reply"]["in_reply_to_tweet_id"]
            extra = {"referenced_tweets": [{"type": "replied_to", "id": parent}],
                     "conversation_id": self.tweets[parent]["conversation_id"] if parent in self.tweets else parent}
        tid = self._store(body["text"], ME, **extra)
        self.ours.append(tid)
        # from here on X has the tweet; what follows is what reaches us
        if mode == "read_timeout":
            raise requests.exceptions.ReadTimeout("HTTPSConnectionPool(host='api.twitter.com', port=443): Read timed out.")
        if mode == "reset":
            raise requests.exceptions.ConnectionError(
                ("Connection aborted.", RemoteDisconnected("Remote end closed connection without response")))
        if mode == "503":
            return 503, {}, json.dumps({"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503})
        if mode == "killed":
            raise ProcessKilled()
        assert mode == "ok", mode
        return 201, {}, json.dumps({"data": {"id": tid, "text": body["text"], "edit_history_tweet_ids": [tid]}})

    def timeline(self, request):
        params = self._record(request, "timeline")
        start = params.get("start_time")
        ids = list(reversed(self.ours))
        if self.timeline_lag:
            self.timeline_lag -= 1
            ids = ids[1:]
        if start:
            since = datetime.fromisoformat(start.replace("Z", "+00:00"))
            ids = [i for i in ids if datetime.fromisoformat(self.tweets[i]["created_at"].replace("Z", "+00:00")) >= since]
        data = [{k: self.tweets[i][k] for k in ("id", "text", "created_at", "conversation_id", "referenced_tweets")
                 if k in self.tweets[i]} for i in ids]
        return 200, {}, json.dumps({"data": data, "meta": {"result_count": len(data)}} if data else {"meta": {"result_count": 0}})

    def mentions(self, request):
        params = self._record(request, "mentions")
        ids = sorted(self.mention_ids, key=int, reverse=True)
        if "since_id" in params and not self.ignore_since_id:
            ids = [i for i in ids if int(i) > int(params["since_id"])]
        if not ids:
            return 200, {}, json.dumps({"meta": {"result_count": 0}})
        data = [{k: v for k, v in self.tweets[i].items() if k not in ("public_metrics", "non_public_metrics")} for i in ids]
        users = [self.users[d["author_id"]] for d in data]
        return 200, {}, json.dumps({"data": data, "includes": {"users": users},
                                    "meta": {"result_count": len(data), "newest_id": ids[0], "oldest_id": ids[-1]}})

    def get_tweets(self, request):
        params = self._record(request, "tweets")
        fields = params.get("tweet.fields", "").split(",")
        data = []
        for tid in params["ids"].split(","):
            tweet = self.tweets[tid]
            data.append({"id": tid, "text": tweet["text"], **{f: tweet[f] for f in fields if f in tweet}})
        return 200, {}, json.dumps({"data": data})

    def liking_users(self, request):
        self._record(request, "liking_users")
        post = urlsplit(request.url).path.split("/")[3]
        users = [self.users[u] for u in self.likers.get(post, [])]
        return 200, {}, json.dumps({"data": users, "meta": {"result_count": len(users)}} if users else {"meta": {"result_count": 0}})


# --- fixtures -------------------------------------------------------------------------------


def configure(config: Path, extra: str = X_ACCOUNT) -> None:
    """The init'ed workspace, without the sandbox account, with our X account."""
    text = config.read_text()
    text, n = re.subn(r'\[\[accounts\]\]\nname = "sandbox"\n(?:[^\n]+\n)+', "", text)
    assert n == 1
    config.write_text(text + extra)


@pytest.fixture
def x_workspace(workspace, monkeypatch, clock):
    for key, value in KEYS.items():
        monkeypatch.setenv(key, value)
    configure(workspace)
    # the plugin stamps some times with the real clock: keep the test clock beside it
    clock.now = datetime.now(UTC).replace(microsecond=0)
    return workspace


@pytest.fixture
def net():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def fake(net, clock):
    return FakeX(net, clock)


@pytest.fixture
def x_app(x_workspace, make_app):
    return make_app()


def delivery_of(app, post_id: int) -> dict:
    with app.db.read() as conn:
        return dict(conn.execute(select(t.deliveries).where(t.deliveries.c.post_id == post_id)).mappings().one())


def account_row(app, name: str = "acme-x") -> dict:
    with app.db.read() as conn:
        return dict(conn.execute(select(t.accounts).where(t.accounts.c.name == name)).mappings().one())


def count(app, table) -> int:
    from sqlalchemy import func

    with app.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def post_now(app, clock, text: str = TEXT) -> int:
    return create_post(app, accounts=["acme-x"], text=text, at=clock.now)


# --- 1. the whole path ----------------------------------------------------------------------


def test_publish_poll_task_like_reply_and_metrics(x_app, fake, net, clock):
    app = x_app
    post_id = post_now(app, clock)
    report = publish_due(app, "w1", clock.now)

    (sent,) = fake.posts_sent()
    assert sent == {"text": TEXT}
    call = net.calls[0].request
    assert call.headers["Authorization"].startswith("OAuth ") and 'oauth_consumer_key="e2e-consumer-key-aaaa1111"' in call.headers["Authorization"]
    tweet_id = fake.ours[0]
    d = delivery_of(app, post_id)
    assert report.published == [d["id"]]
    assert (d["status"], d["remote_id"], d["remote_url"], d["attempts"], d["error"]) == (
        "published", tweet_id, f"https://x.com/acme/status/{tweet_id}", 1, None)

    # the ideal customer asks about pricing
    clock.advance(minutes=5)
    mention = fake.mention(GINA, "@acme what does pricing look like?")
    poll = poll_account(app, "acme-x", "w1", clock.now)
    assert (poll.error, poll.fetched, poll.new, poll.tasks_created, poll.requests) == (None, 1, 1, 1, 2)
    assert fake.names()[1:] == ["mentions", "tweets"]
    assert fake.calls[2][2]["ids"] == tweet_id and fake.calls[2][2]["tweet.fields"] == "public_metrics"

    (task,) = list_tasks(app, all_owners=True)
    assert (task["owner"], task["status"], task["priority"], task["intent"]) == ("alice", "open", 1, True)
    assert task["reason"] == 'mention with intent (pricing): "@acme what does pricing look like?"'
    assert task["contact"]["name"] == "Gina Vance" and task["contact"]["headline"] == "VP Sales at Globex"
    assert task["contact"]["handles"] == [{"channel": "x", "handle": "@globexvp", "profile_url": "https://x.com/globexvp"}]
    assert task["due_at"] > clock.now and not task["overdue"]
    detail = get_task(app, task["id"])
    assert [(e["kind"], e["text"], e["url"], e["account"]) for e in detail["engagements"]] == [
        ("mention", "@acme what does pricing look like?", f"https://x.com/globexvp/status/{mention}", "acme-x")]
    score_after_mention = task["score"]

    # likes arrive through the changed-counts path: Gina's attaches to her task, a stranger's makes no task
    clock.advance(minutes=15)
    fake.like(tweet_id, GINA)
    fake.like(tweet_id, RANDO)
    before = len(fake.calls)
    poll = poll_account(app, "acme-x", "w1", clock.now)
    assert (poll.error, poll.fetched, poll.new, poll.tasks_created, poll.requests) == (None, 2, 2, 0, 3)
    assert fake.names()[before:] == ["mentions", "tweets", "liking_users"]
    assert fake.calls[before][2]["since_id"] == mention
    (task,) = list_tasks(app, all_owners=True)
    assert task["score"] > score_after_mention
    with app.db.read() as conn:
        likes = conn.execute(select(t.engagements.c.external_id, t.engagements.c.task_id, t.engagements.c.delivery_id)
                             .where(t.engagements.c.kind == "like").order_by(t.engagements.c.external_id)).all()
    assert [tuple(r) for r in likes] == [(f"{tweet_id}:201", task["id"], delivery_of(app, post_id)["id"]),
                                         (f"{tweet_id}:301", None, delivery_of(app, post_id)["id"])]
    assert count(app, t.contacts) == 2 and count(app, t.tasks) == 1

    # a third poll with nothing new costs the two cheap reads and changes nothing
    before = len(fake.calls)
    poll = poll_account(app, "acme-x", "w1", clock.now)
    assert (poll.new, poll.requests) == (0, 2) and fake.names()[before:] == ["mentions", "tweets"]

    # the rep replies from socialsell: under Gina's mention
    before = len(fake.calls)
    result = reply_to_task(app, task["id"], "Hi Gina, happy to walk you through it")
    assert fake.calls[before:] == [("create_tweet", "/2/tweets", {}, {
        "text": "Hi Gina, happy to walk you through it", "reply": {"in_reply_to_tweet_id": mention}})]
    reply_id = fake.ours[-1]
    assert result == {"task": task["id"], "remote_id": reply_id, "url": f"https://x.com/acme/status/{reply_id}"}
    with app.db.read() as conn:
        replied = conn.execute(select(t.tasks.c.replied_at, t.tasks.c.status).where(t.tasks.c.id == task["id"])).one()
    assert replied.replied_at == clock.now and replied.status == "open"

    # metrics
    fake.tweets[tweet_id]["public_metrics"].update(impression_count=90, reply_count=0)
    fake.tweets[tweet_id]["non_public_metrics"].update(impression_count=140, url_link_clicks=7, user_profile_clicks=3)
    before = len(fake.calls)
    assert refresh_metrics(app, "w1", clock.now) == {"stored": 1, "errors": {}}
    assert fake.names()[before:] == ["tweets"]
    assert fake.calls[before][2] == {"ids": tweet_id, "tweet.fields": "public_metrics,non_public_metrics,organic_metrics"}
    with app.db.read() as conn:
        (m,) = conn.execute(select(t.post_metrics)).mappings().all()
    assert (m["delivery_id"], m["impressions"], m["likes"], m["replies"], m["clicks"], m["profile_clicks"]) == (
        delivery_of(app, post_id)["id"], 140, 2, 0, 7, 3)
    assert len(fake.ours) == 2  # the post and the reply: nothing twice


# --- 1b. the same path through the CLI -------------------------------------------------------


def test_cli_run_once_then_a_refused_reply_is_one_line_with_the_link(x_app, fake, clock, cli):
    app = x_app
    post_id = post_now(app, clock)
    mention = fake.mention(GINA, "@acme what does pricing look like?")

    result = cli("run", "--once")
    assert result.exit_code == 0, result.output
    assert "published 1, failed 0, deferred 0, unknown 0, missed 0" in result.stdout
    assert "poll:acme-x: 1 new engagements, 1 new tasks, 2 requests" in result.stdout
    assert fake.names() == ["create_tweet", "mentions", "tweets", "tweets"]  # publish, poll (2), metrics
    assert delivery_of(app, post_id)["status"] == "published"
    assert count(app, t.post_metrics) == 1

    listed = cli("tasks", "--json")
    assert listed.exit_code == 0, listed.output
    (task,) = json.loads(listed.stdout)
    assert (task["owner"], task["priority"]) == ("alice", 1)

    fake.post_mode = ["reply403"]
    refused = cli("task", "reply", str(task["id"]), "Hi Gina, happy to help")
    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert refused.stderr == (
        "Error: X does not let this app reply here (403): Reply to this conversation is not allowed because you have "
        "not been mentioned or otherwise engaged by the author of the post you are replying to.; reply on x.com"
        f" - reply by hand: https://x.com/globexvp/status/{mention}\n")
    assert fake.posts_sent()[-1] == {"text": "Hi Gina, happy to help", "reply": {"in_reply_to_tweet_id": mention}}
    with app.db.read() as conn:
        row = conn.execute(select(t.tasks.c.status, t.tasks.c.replied_at)).one()
    assert (row.status, row.replied_at) == ("open", None)
    assert count(app, t.notes) == 0


# --- 2. faults through the loop --------------------------------------------------------------


def test_429_defers_to_the_reset_and_nothing_is_sent_before_it(x_app, fake, net, clock):
    app = x_app
    worker = Worker(app, id="w1")
    post_id = post_now(app, clock)
    reset = clock.now + timedelta(minutes=10)
    fake.rate_reset = int(reset.timestamp())
    fake.post_mode = ["429"]

    run_once(app, worker, clock.now)
    assert len(net.calls) == 1 and fake.names() == ["create_tweet"]
    d = delivery_of(app, post_id)
    assert (d["status"], d["next_attempt_at"], d["attempts"]) == ("scheduled", reset, 1)
    assert d["error"] == f"rate limited until {reset.isoformat(timespec='seconds')}"
    assert account_row(app)["rate_limited_until"] == reset

    for minutes in (1, 5, 9):  # the loop keeps running: not one request to X before the reset
        clock.now = reset - timedelta(minutes=10 - minutes)
        results = run_once(app, worker, clock.now)
        assert results["poll:acme-x"].skipped == f"rate limited until {reset.isoformat(timespec='seconds')}"
    clock.now = reset - timedelta(seconds=1)
    assert not publish_due(app, "w1", clock.now)
    assert len(net.calls) == 1

    clock.now = reset + timedelta(seconds=1)
    results = run_once(app, worker, clock.now)
    assert results["publish"].published == [d["id"]]
    assert fake.names() == ["create_tweet", "create_tweet", "mentions", "tweets", "tweets"]
    d = delivery_of(app, post_id)
    assert (d["status"], d["remote_id"], d["attempts"], d["error"]) == ("published", fake.ours[0], 2, None)
    assert len(fake.ours) == 1


def test_read_timeout_is_unknown_then_reconciled_from_the_timeline_without_a_second_post(x_app, fake, net, clock):
    app = x_app
    post_id = post_now(app, clock)
    fake.post_mode = ["read_timeout"]
    started = clock.now

    report = publish_due(app, "w1", clock.now)
    d = delivery_of(app, post_id)
    assert report.unknown == [d["id"]] and d["status"] == "unknown"
    assert d["error"] == "outcome unknown (X did not answer in time for the post): reconciling before any retry"
    assert len(fake.ours) == 1  # X has it

    clock.advance(seconds=10)  # too early to look: nothing happens
    assert not publish_due(app, "w1", clock.now)
    assert len(net.calls) == 1

    clock.advance(seconds=25)
    report = publish_due(app, "w1", clock.now)
    assert report.reconciled == [d["id"]] and report.published == [d["id"]]
    assert fake.names() == ["create_tweet", "timeline"]
    assert fake.calls[1][2]["start_time"] == (started - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    d = delivery_of(app, post_id)
    assert (d["status"], d["remote_id"], d["remote_url"], d["attempts"]) == (
        "published", fake.ours[0], f"https://x.com/acme/status/{fake.ours[0]}", 1)

    clock.advance(minutes=5)
    assert not publish_due(app, "w1", clock.now)  # published stays published
    assert fake.names().count("create_tweet") == 1 and len(fake.ours) == 1
    with app.db.read() as conn:
        kinds = [k for (k,) in conn.execute(select(t.events.c.kind).where(t.events.c.kind.like("post.%")))]
    assert kinds.count("post.published") == 1


def test_duplicate_403_on_a_retry_is_reconciled_not_failed(x_app, fake, clock):
    """503 after X stored the tweet; the timeline lags so the first look misses it; the retry
    gets X's duplicate-content 403; the next look finds it: published, one tweet."""
    app = x_app
    post_id = post_now(app, clock)
    fake.post_mode = ["503"]
    fake.timeline_lag = 1
    did = delivery_of(app, post_id)["id"]

    assert publish_due(app, "w1", clock.now).unknown == [did]
    clock.advance(seconds=31)
    assert publish_due(app, "w1", clock.now).reconciled == [did]  # not seen: sent again
    d = delivery_of(app, post_id)
    assert (d["status"], d["error"]) == ("scheduled", "reconciled: not on the network, sending again")
    report = publish_due(app, "w1", clock.now)
    assert report.unknown == [did] and not report.failed
    d = delivery_of(app, post_id)
    assert d["status"] == "unknown"
    assert "You are not allowed to create a Tweet with duplicate content." in d["error"]
    clock.advance(seconds=31)
    report = publish_due(app, "w1", clock.now)
    assert report.published == [did] and report.reconciled == [did] and not report.failed
    assert fake.names() == ["create_tweet", "timeline", "create_tweet", "timeline"]
    d = delivery_of(app, post_id)
    assert (d["status"], d["remote_id"], d["attempts"], d["error"]) == ("published", fake.ours[0], 2, None)
    assert len(fake.ours) == 1


def test_401_pauses_the_account_and_status_json_shows_it(x_app, fake, net, clock, cli):
    app = x_app
    worker = Worker(app, id="w1")
    post_id = post_now(app, clock)
    fake.post_mode = ["401"]

    results = run_once(app, worker, clock.now)
    assert results["publish"].deferred == [delivery_of(app, post_id)["id"]]
    assert results["poll:acme-x"].skipped.startswith("paused: X refused the credentials (401)")
    assert fake.names() == ["create_tweet"]
    d = delivery_of(app, post_id)
    reason = ("X refused the credentials (401): Unauthorized; reconnect the account "
              "(`socialsell channels connect`) or fix its keys")
    assert (d["status"], d["error"]) == ("scheduled", f"paused: {reason}")
    acc = account_row(app)
    assert (acc["status"], acc["paused_reason"]) == ("paused", reason)

    clock.advance(hours=2)
    run_once(app, worker, clock.now)
    assert len(net.calls) == 1  # a paused account is not called again

    status = cli("status", "--json")
    assert status.exit_code == 0, status.output
    (info,) = json.loads(status.stdout)
    (x,) = [a for a in info["accounts"] if a["name"] == "acme-x"]
    assert (x["status"], x["paused_reason"], x["error"]) == ("paused", reason, reason)
    assert info["queue"]["scheduled"] == 1 and info["queue"]["published"] == 0
    assert not any(secret in status.output for secret in KEYS.values())


# --- 5. a crash between the network call and the commit -------------------------------------


def test_connection_lost_after_x_got_the_post_is_unknown_then_one_tweet(x_app, fake, net, clock):
    app = x_app
    post_id = post_now(app, clock)
    fake.post_mode = ["reset"]  # the request reached X; the answer never came back

    report = publish_due(app, "w1", clock.now)
    did = delivery_of(app, post_id)["id"]
    assert report.unknown == [did] and not report.deferred
    d = delivery_of(app, post_id)
    assert d["status"] == "unknown" and d["remote_id"] is None
    assert d["error"] == "outcome unknown (the connection to X broke during the post): reconciling before any retry"

    clock.advance(seconds=31)
    report = publish_due(app, "w1", clock.now)
    assert report.published == [did] and report.reconciled == [did]
    assert [urlsplit(c.request.url).path for c in net.calls] == ["/2/tweets", "/2/users/100/tweets"]
    assert (delivery_of(app, post_id)["status"], delivery_of(app, post_id)["remote_id"]) == ("published", fake.ours[0])
    assert len(fake.ours) == 1 and fake.names().count("create_tweet") == 1


def test_worker_killed_during_the_call_restarts_into_reconcile_one_tweet(x_workspace, make_app, fake, net, clock):
    """kill -9 after X got the post: the delivery is left in `sending` under a lease. Nobody
    touches it while the lease runs; after it, a restarted worker reconciles: one tweet."""
    first = make_app()
    post_id = post_now(first, clock)
    fake.post_mode = ["killed"]
    with pytest.raises(ProcessKilled):
        publish_due(first, "w1", clock.now)
    d = delivery_of(first, post_id)
    assert (d["status"], d["claimed_by"]) == ("sending", "w1") and d["attempt_id"] and len(fake.ours) == 1
    assert d["lease_until"] > clock.now + timedelta(seconds=60)

    restarted = make_app()  # a new process on the same database
    clock.advance(seconds=60)
    assert not publish_due(restarted, "w2", clock.now)  # the lease still runs: hands off
    assert fake.names() == ["create_tweet"]

    clock.now = d["lease_until"] + timedelta(seconds=1)
    report = publish_due(restarted, "w2", clock.now)
    assert report.published == [d["id"]] and report.reconciled == [d["id"]]
    assert fake.names() == ["create_tweet", "timeline"]
    d = delivery_of(restarted, post_id)
    assert (d["status"], d["remote_id"], d["attempts"]) == ("published", fake.ours[0], 1)
    clock.advance(minutes=5)
    assert not publish_due(restarted, "w2", clock.now)
    assert len(fake.ours) == 1 and len(net.calls) == 2


def test_worker_found_dead_on_this_machine_is_taken_over_before_its_lease_ends(x_workspace, make_app, fake, net, clock):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead_worker = f"{socket.gethostname()}:{gone.pid}:dead01"
    first = make_app()
    post_id = post_now(first, clock)
    fake.post_mode = ["killed"]
    with pytest.raises(ProcessKilled):
        publish_due(first, dead_worker, clock.now)
    lease_until = delivery_of(first, post_id)["lease_until"]

    restarted = make_app()
    clock.advance(seconds=31)
    assert clock.now < lease_until
    report = publish_due(restarted, f"{socket.gethostname()}:{os.getpid()}:alive1", clock.now)
    assert report.published == report.reconciled == [delivery_of(restarted, post_id)["id"]]
    assert fake.names() == ["create_tweet", "timeline"] and len(fake.ours) == 1


# --- 4. the same invariants on PostgreSQL ------------------------------------------------------


def test_unknown_reconcile_and_once_only_ingest_on_each_database(x_workspace, make_app, db_url, fake, clock):
    app = make_app(db_url)
    assert app.db.is_sqlite is (db_url is None)
    post_id = post_now(app, clock)
    fake.post_mode = ["read_timeout"]
    did = delivery_of(app, post_id)["id"]

    assert publish_due(app, "w1", clock.now).unknown == [did]
    other = make_app(db_url)  # a second worker on the same database
    clock.advance(seconds=31)
    r1 = publish_due(app, "w1", clock.now)
    r2 = publish_due(other, "w2", clock.now)
    assert r1.published + r2.published == [did]
    assert fake.names() == ["create_tweet", "timeline"]
    d = delivery_of(app, post_id)
    assert (d["status"], d["remote_id"]) == ("published", fake.ours[0])

    fake.mention(GINA, "@acme what does pricing look like?")
    fake.ignore_since_id = True  # X sends the same mention again: it is stored once
    for worker_app, worker in ((app, "w1"), (other, "w2"), (app, "w1")):
        clock.advance(minutes=1)
        poll_account(worker_app, "acme-x", worker, clock.now)
    assert count(app, t.engagements) == 1 and count(app, t.contacts) == 1
    (task,) = list_tasks(app, all_owners=True)
    assert (task["owner"], task["priority"], task["intent"]) == ("alice", 1, True)
    assert fake.names().count("create_tweet") == 1 and len(fake.ours) == 1


def test_fake_x_is_strict_about_unknown_routes(x_app, net):
    """Sanity of the harness: a route the fake does not serve fails loudly, never silently."""
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{API}/users/100/followers", timeout=1)
    assert len(net.calls) == 1


def test_a_reply_over_xs_weighted_length_is_refused_and_nothing_is_sent(x_app, fake, clock, cli):
    """Issue 12 item 2: a reply passes X's own validation (weighted length: a CJK character counts
    two) before anything goes out, in one line, exit 2."""
    post_now(x_app, clock)
    fake.mention(GINA, "@acme what does pricing look like?")
    assert cli("run", "--once").exit_code == 0
    (task,) = json.loads(cli("tasks", "--json").stdout)
    sent = len(fake.posts_sent())
    too_long = "価" * 141  # 141 characters, weighted 282 > 280
    refused = cli("task", "reply", str(task["id"]), too_long)
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.startswith("Error: reply refused on acme-x, nothing sent: ") and "282 characters" in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert len(fake.posts_sent()) == sent
    assert get_task(x_app, task["id"])["replied_at"] is None
    ok = cli("task", "reply", str(task["id"]), "価" * 140)  # weighted 280: fits
    assert ok.exit_code == 0, ok.output
    assert len(fake.posts_sent()) == sent + 1
