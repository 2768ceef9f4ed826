"""The X channel against a fake X at the HTTP layer: tweepy and requests run for real.

``FakeX`` answers the API v2 routes the channel uses with bodies shaped like X's documented
JSON (``data``/``includes``/``meta``/``errors``) and records every request.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from socialsell_x.channel import XChannel
from urllib3.exceptions import MaxRetryError, NewConnectionError

from socialsell.credentials import load_tokens, save_tokens, token_file
from socialsell.errors import ConfigError
from socialsell.plugins.channel import (
    AuthError,
    DuplicateContent,
    Engagement,
    OurPost,
    Person,
    RateLimited,
    Rejected,
    ReplyNotAllowed,
    TransientError,
)
from socialsell.workspace import build_workspace

API = "https://api.twitter.com/2"
UPLOAD = "https://api.x.com/2/media/upload"
TOKEN = "https://api.x.com/2/oauth2/token"
ME = {"id": "100", "name": "Acme", "username": "acme"}

SECRETS = {
    "X_CONSUMER_KEY": "ck-secret-consumer-key-1111",
    "X_CONSUMER_SECRET": "cs-secret-consumer-secret-2222",
    "X_ACCESS_TOKEN": "at-secret-access-token-3333",
    "X_ACCESS_SECRET": "ats-secret-access-token-secret-4444",
    "X_CLIENT_ID": "client-id-5555",
    "X_CLIENT_SECRET": "cls-secret-client-secret-6666",
}
OAUTH2_TOKENS = {"access_token": "oa2-access-token-7777", "refresh_token": "oa2-refresh-token-8888"}


def snowflake(when: datetime, seq: int = 0) -> str:
    """A tweet id as X makes them: the creation time in its high bits."""
    return str(((int(when.timestamp() * 1000) - 1288834974657) << 22) + seq)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def user(uid: str, name: str) -> dict:
    return {
        "id": uid, "name": name.title(), "username": name, "description": f"{name} builds things",
        "location": "Berlin", "url": "", "public_metrics": {"followers_count": 42, "following_count": 7},
    }


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("SOCIALSELL_NO_KEYRING", "1")
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)


def make_account(tmp_path, **settings):
    data = {"accounts": [{"name": "acme-x", "channel": "x", **settings}]}
    return build_workspace(tmp_path / "socialsell.toml", data).accounts["acme-x"]


OAUTH1 = {
    "consumer_key": {"env": "X_CONSUMER_KEY"},
    "consumer_secret": {"env": "X_CONSUMER_SECRET"},
    "access_token": {"env": "X_ACCESS_TOKEN"},
    "access_token_secret": {"env": "X_ACCESS_SECRET"},
}
OAUTH2 = {"client_id": {"env": "X_CLIENT_ID"}, "client_secret": {"env": "X_CLIENT_SECRET"}}


@pytest.fixture
def account(tmp_path, env):
    return make_account(tmp_path, user_id="100", handle="@acme", **OAUTH1)


@pytest.fixture
def channel(account):
    ch = XChannel(account)
    yield ch
    ch.close()


@pytest.fixture
def oauth2_account(tmp_path, env):
    acc = make_account(tmp_path, user_id="100", handle="acme", **OAUTH2)
    save_tokens(acc.workspace.state_dir, acc.name, {**OAUTH2_TOKENS, "scope": "tweet.read tweet.write users.read like.read offline.access", "expires_at": int(time.time()) + 3600})
    return acc


@pytest.fixture
def net():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def body_of(call) -> dict:
    return json.loads(call.request.body)


def params_of(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


# --- a small fake X -------------------------------------------------------------------------


class FakeX:
    """Our account's posts, other people's tweets, likers and reposters, served like API v2."""

    def __init__(self, rsps: responses.RequestsMock):
        self.now = datetime.now(UTC)
        self.tweets: dict[str, dict] = {}
        self.users: dict[str, dict] = {"100": user("100", "acme")}
        self.likers: dict[str, list[str]] = {}
        self.reposters: dict[str, list[str]] = {}
        self.mention_ids: list[str] = []
        self.deleted: set[str] = set()
        self.rate_limited: set[str] = set()  # routes answering 429
        self.answers_before_429: dict[str, int] = {}  # route -> answers it gives before it answers 429
        self.quotes_without_refs = False  # quote_tweets answers without referenced_tweets
        self.calls: list[tuple[str, dict]] = []
        self._seq = 0
        rsps.add_callback("GET", re.compile(rf"{API}/users/100/mentions"), self.mentions)
        rsps.add_callback("GET", re.compile(rf"{API}/tweets/search/recent"), self.search)
        rsps.add_callback("GET", re.compile(rf"{API}/tweets/\d+/liking_users"), self.liking_users)
        rsps.add_callback("GET", re.compile(rf"{API}/tweets/\d+/retweeted_by"), self.retweeted_by)
        rsps.add_callback("GET", re.compile(rf"{API}/tweets/\d+/quote_tweets"), self.quote_tweets)
        rsps.add_callback("GET", re.compile(rf"{API}/tweets\?"), self.get_tweets)

    def new_id(self, minutes_ago: float) -> str:
        self._seq += 1
        return snowflake(self.now - timedelta(minutes=minutes_ago), self._seq)

    def our_post(self, minutes_ago: float) -> str:
        tid = self.new_id(minutes_ago)
        self.tweets[tid] = {
            "id": tid, "text": f"post {tid}", "author_id": "100", "conversation_id": tid,
            "created_at": iso(self.now - timedelta(minutes=minutes_ago)),
            "public_metrics": {"reply_count": 0, "like_count": 0, "retweet_count": 0, "quote_count": 0,
                               "bookmark_count": 0, "impression_count": 10},
        }
        return tid

    def tweet_by(self, name: str, uid: str, *, reply_to: str | None = None, quote: str | None = None,
                 mention: bool = False, minutes_ago: float = 1) -> str:
        self.users.setdefault(uid, user(uid, name))
        tid = self.new_id(minutes_ago)
        tweet = {"id": tid, "text": f"@acme hello from {name}", "author_id": uid,
                 "created_at": iso(self.now - timedelta(minutes=minutes_ago)), "conversation_id": tid,
                 "public_metrics": {"reply_count": 0, "like_count": 0, "retweet_count": 0, "quote_count": 0}}
        refs = []
        if reply_to:
            refs.append({"type": "replied_to", "id": reply_to})
            tweet["conversation_id"] = self.tweets[reply_to]["conversation_id"]
            self.tweets[reply_to]["public_metrics"]["reply_count"] += 1
        if quote:
            refs.append({"type": "quoted", "id": quote})
            self.tweets[quote]["public_metrics"]["quote_count"] += 1
        if refs:
            tweet["referenced_tweets"] = refs
        self.tweets[tid] = tweet
        if mention:
            self.mention_ids.append(tid)
        return tid

    def like(self, post: str, name: str, uid: str) -> None:
        self.users.setdefault(uid, user(uid, name))
        self.likers.setdefault(post, []).insert(0, uid)
        self.tweets[post]["public_metrics"]["like_count"] += 1

    def repost(self, post: str, name: str, uid: str) -> None:
        self.users.setdefault(uid, user(uid, name))
        self.reposters.setdefault(post, []).insert(0, uid)
        self.tweets[post]["public_metrics"]["retweet_count"] += 1

    # -- routes

    def _record(self, request, name):
        params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.calls.append((name, params))
        return params

    def _page(self, ids, params, fields=("public_metrics",)):
        ids = sorted(ids, key=int, reverse=True)
        if "since_id" in params:
            ids = [i for i in ids if int(i) > int(params["since_id"])]
        if "start_time" in params:
            start = datetime.fromisoformat(params["start_time"].replace("Z", "+00:00"))
            ids = [i for i in ids if self.tweets[i]["created_at"] >= iso(start)]
        size = int(params.get("max_results", 10))
        offset = int(params.get("pagination_token") or params.get("next_token") or 0)
        page = ids[offset:offset + size]
        data = [{k: v for k, v in self.tweets[i].items() if k != "public_metrics"} for i in page]
        body = {"data": data, "includes": {"users": [self.users[t["author_id"]] for t in data]},
                "meta": {"result_count": len(data)}}
        if page:
            body["meta"].update(newest_id=page[0], oldest_id=page[-1])
        if offset + size < len(ids):
            body["meta"]["next_token"] = str(offset + size)
        if not data:
            body = {"meta": {"result_count": 0}}
        return (200, {}, json.dumps(body))

    def mentions(self, request):
        return self._page(self.mention_ids, self._record(request, "mentions"))

    def search(self, request):
        params = self._record(request, "search")
        conversations = set(re.findall(r"conversation_id:(\d+)", params["query"]))
        ids = [t["id"] for t in self.tweets.values() if t["conversation_id"] in conversations and t["id"] not in conversations]
        return self._page(ids, params)

    def get_tweets(self, request):
        params = self._record(request, "tweets")
        data, errors = [], []
        for tid in params["ids"].split(","):
            if tid in self.tweets and tid not in self.deleted:
                data.append({k: v for k, v in self.tweets[tid].items() if k in ("id", "text", "public_metrics")})
            else:
                errors.append({"value": tid, "detail": f"Could not find tweet with ids: [{tid}].",
                               "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                               "resource_id": tid, "type": "https://api.twitter.com/2/problems/resource-not-found"})
        body = {"data": data} if data else {}
        if errors:
            body["errors"] = errors
        return (200, {}, json.dumps(body))

    def _limited(self, name: str) -> bool:
        if name in self.answers_before_429:
            if self.answers_before_429[name] <= 0:
                return True
            self.answers_before_429[name] -= 1
        return name in self.rate_limited

    def _users_of(self, request, name, table):
        params = self._record(request, name)
        if self._limited(name):
            return (429, {"x-rate-limit-reset": str(int(time.time()) + 900)}, json.dumps({"title": "Too Many Requests"}))
        post = urlsplit(request.url).path.split("/")[3]
        # newest first, 100 at most per page; like X's, the token names where the next page
        # starts, so people added at the top meanwhile do not shift the pages that follow
        size = int(params.get("max_results", 100))
        assert 1 <= size <= 100
        everyone = table.get(post, [])
        token = params.get("pagination_token")
        if token and token.removeprefix("from-") not in everyone:
            return (400, {}, json.dumps({"errors": [{"message": "The `pagination_token` query parameter value is invalid"}]}))
        offset = everyone.index(token.removeprefix("from-")) if token else 0
        users = [self.users[u] for u in everyone[offset:offset + size]]
        meta = {"result_count": len(users)}
        if offset + size < len(everyone):
            meta["next_token"] = f"from-{everyone[offset + size]}"
        return (200, {}, json.dumps({"data": users, "meta": meta} if users else {"meta": meta}))

    def liking_users(self, request):
        return self._users_of(request, "liking_users", self.likers)

    def retweeted_by(self, request):
        return self._users_of(request, "retweeted_by", self.reposters)

    def quote_tweets(self, request):
        params = self._record(request, "quote_tweets")
        if self._limited("quote_tweets"):
            return (429, {"x-rate-limit-reset": str(int(time.time()) + 900)}, json.dumps({"title": "Too Many Requests"}))
        post = urlsplit(request.url).path.split("/")[3]
        ids = [t["id"] for t in self.tweets.values() if {"type": "quoted", "id": post} in t.get("referenced_tweets", [])]
        status, headers, body = self._page(ids, {k: v for k, v in params.items() if k != "since_id"})
        if self.quotes_without_refs:
            answer = json.loads(body)
            for tweet in answer.get("data", []):
                tweet.pop("referenced_tweets", None)
            body = json.dumps(answer)
        return status, headers, body

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@pytest.fixture
def fake(net):
    return FakeX(net)


def our_posts(fake: FakeX, ids: list[str]) -> list[OurPost]:
    return [OurPost(remote_id=i, published_at=datetime.fromisoformat(fake.tweets[i]["created_at"].replace("Z", "+00:00"))) for i in ids]


# --- plugin loading ---------------------------------------------------------------------------


def test_hook_register_channels_registers_x_without_importing_tweepy(tmp_path, env):
    code = (
        "import sys, socialsell_x\n"
        "found = {}\n"
        "socialsell_x.register_channels(lambda name, cls: found.update({name: cls}))\n"
        "from socialsell.workspace import build_workspace\n"
        f"ws = build_workspace(__import__('pathlib').Path({str(tmp_path)!r}) / 's.toml', "
        "{'accounts': [{'name': 'a', 'channel': 'x', 'handle': 'acme', 'user_id': '1'}]})\n"
        "ch = found['x'](ws.accounts['a'])\n"
        "print(ch.name, ch.max_length, ch.post_url('5'))\n"
        "print(sorted(m for m in ('tweepy', 'requests', 'twitter_text') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["x 280 https://x.com/acme/status/5", "[]"]


# --- text -------------------------------------------------------------------------------------


def test_measure_uses_x_weighting(channel):
    assert channel.measure("see https://example.com/" + "a" * 100) == 4 + 23
    assert channel.measure("日本語") == 6
    assert channel.measure("ok 👍") == 5


def test_validate_checks_each_thread_part(channel):
    assert channel.validate("a" * 280) == []
    assert channel.validate("a" * 281) == ["281 characters is over X's limit of 280"]
    text = "first part\n---\n" + "b" * 300 + "\n  ---  \n"
    assert channel.validate(text) == [
        "thread part 2 of 3: 300 characters is over X's limit of 280",
        "thread part 3 of 3 is empty",
    ]
    assert channel.validate("one\n---\ntwo") == []
    assert channel.measure("one\n---\n" + "c" * 200) == 200


# --- publish ----------------------------------------------------------------------------------


def test_publish_posts_and_returns_the_link(channel, net):
    net.add("POST", f"{API}/tweets", json={"data": {"id": "1001", "text": "hello", "edit_history_tweet_ids": ["1001"]}}, status=201)
    published = channel.publish("hello")
    assert published.remote_id == "1001"
    assert published.url == "https://x.com/acme/status/1001"
    assert body_of(net.calls[0]) == {"text": "hello"}
    assert net.calls[0].request.headers["Authorization"].startswith("OAuth ")
    assert net.calls[0].request.req_kwargs["timeout"] == (10.0, XChannel.timeout)
    assert channel.request_count == 1


def test_publish_thread_as_reply_chain(channel, net):
    ids = iter(["11", "12", "13"])
    net.add_callback("POST", f"{API}/tweets", lambda r: (201, {}, json.dumps({"data": {"id": next(ids), "text": "x"}})))
    published = channel.publish("one\n---\ntwo\n---\nthree")
    assert published.remote_id == "11"
    bodies = [body_of(c) for c in net.calls]
    assert bodies == [
        {"text": "one"},
        {"text": "two", "reply": {"in_reply_to_tweet_id": "11"}},
        {"text": "three", "reply": {"in_reply_to_tweet_id": "12"}},
    ]


def test_thread_failing_midway_says_what_is_live(channel, net):
    net.add("POST", f"{API}/tweets", json={"data": {"id": "21", "text": "one"}}, status=201)
    net.add("POST", f"{API}/tweets", json={"title": "Forbidden", "detail": "You are not permitted to perform this action.", "status": 403}, status=403)
    with pytest.raises(Rejected) as info:
        channel.publish("one\n---\ntwo")
    assert str(info.value) == (
        "thread partly published: parts 1-1 of 2 are live (https://x.com/acme/status/21); part 2 failed "
        "(X refused thread part 2 (403): You are not permitted to perform this action.); finish the thread on x.com")
    assert len(net.calls) == 2


def test_publish_uploads_images_and_attaches_them(channel, net, tmp_path):
    image = tmp_path / "chart.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    net.add("POST", UPLOAD, json={"data": {"id": "777", "media_key": "3_777", "size": 108, "expires_after_secs": 86400}})
    net.add("POST", f"{API}/tweets", json={"data": {"id": "31", "text": "look"}}, status=201)
    channel.publish("look", media=[str(image)])
    upload, tweet = net.calls
    assert b'name="media_category"' in upload.request.body and b"tweet_image" in upload.request.body
    assert b'filename="chart.png"' in upload.request.body
    assert upload.request.headers["Authorization"].startswith("OAuth ")
    assert upload.request.req_kwargs["timeout"] is not None
    assert body_of(tweet) == {"text": "look", "media": {"media_ids": ["777"]}}
    assert channel.request_count == 2


def test_images_are_checked_before_anything_is_sent(channel, net, tmp_path):
    (tmp_path / "doc.pdf").write_bytes(b"%PDF")
    with pytest.raises(Rejected, match="JPEG, PNG, WEBP or GIF"):
        channel.publish("x", media=[str(tmp_path / "doc.pdf")])
    with pytest.raises(Rejected, match="image not found"):
        channel.publish("x", media=[str(tmp_path / "missing.png")])
    with pytest.raises(Rejected, match="at most 4"):
        channel.publish("x", media=["a.png"] * 5)
    assert len(net.calls) == 0


def test_duplicate_content_403(channel, net):
    net.add("POST", f"{API}/tweets", status=403, json={
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank", "title": "Forbidden", "status": 403})
    with pytest.raises(DuplicateContent, match="You are not allowed to create a Tweet with duplicate content."):
        channel.publish("again")


def test_other_403_is_rejected_with_x_message(channel, net):
    net.add("POST", f"{API}/tweets", status=403, json={
        "detail": "You are not permitted to perform this action.", "title": "Forbidden", "status": 403})
    with pytest.raises(Rejected) as info:
        channel.publish("hello")
    assert not isinstance(info.value, DuplicateContent | ReplyNotAllowed)
    assert str(info.value) == "X refused the post (403): You are not permitted to perform this action."


def test_400_is_rejected(channel, net):
    net.add("POST", f"{API}/tweets", status=400, json={"errors": [{"message": "Invalid Request: text is too long", "parameters": {}}], "title": "Invalid Request", "status": 400})
    with pytest.raises(Rejected, match="Invalid Request: text is too long"):
        channel.publish("hello")


def test_401_oauth1_is_auth_error(channel, net):
    net.add("POST", f"{API}/tweets", status=401, json={"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
    with pytest.raises(AuthError, match="401"):
        channel.publish("hello")
    assert len(net.calls) == 1


def test_429_uses_the_reset_header(channel, net):
    reset = int(time.time()) + 600
    net.add("POST", f"{API}/tweets", status=429, json={"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
            headers={"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"})
    with pytest.raises(RateLimited) as info:
        channel.publish("hello")
    assert info.value.retry_at == datetime.fromtimestamp(reset, tz=UTC)


def test_429_without_reset_waits_fifteen_minutes(channel, net):
    net.add("GET", re.compile(rf"{API}/tweets\?"), status=429, json={"title": "Too Many Requests", "status": 429})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        channel.fetch_metrics(["1"])
    assert before + timedelta(minutes=14) < info.value.retry_at < datetime.now(UTC) + timedelta(minutes=16)


def test_5xx_is_transient_and_may_have_posted(channel, net):
    net.add("POST", f"{API}/tweets", status=503, json={"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503})
    with pytest.raises(TransientError) as info:
        channel.publish("hello")
    assert info.value.maybe_delivered and info.value.status == 503
    net.add("GET", re.compile(rf"{API}/tweets\?"), status=500, body="oops")
    with pytest.raises(TransientError) as info:
        channel.fetch_metrics(["1"])
    assert not info.value.maybe_delivered


def _raise(exc):
    def callback(request):
        raise exc
    return callback


@pytest.mark.parametrize(
    ("exc", "maybe_delivered"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), True),
        (requests.exceptions.ConnectionError("Connection aborted: reset by peer"), True),
        (requests.exceptions.ConnectTimeout("connect timed out"), False),
        (requests.exceptions.ConnectionError(MaxRetryError(None, "/2/tweets", NewConnectionError(None, "Connection refused"))), False),
    ],
)
def test_network_failures_on_publish(channel, net, exc, maybe_delivered):
    net.add_callback("POST", f"{API}/tweets", _raise(exc))
    with pytest.raises(TransientError) as info:
        channel.publish("hello")
    assert info.value.maybe_delivered is maybe_delivered
    assert "\n" not in str(info.value)


def test_read_timeout_on_a_read_was_not_delivered(channel, net):
    net.add_callback("GET", re.compile(rf"{API}/tweets\?"), _raise(requests.exceptions.ReadTimeout("slow")))
    with pytest.raises(TransientError) as info:
        channel.fetch_metrics(["1"])
    assert not info.value.maybe_delivered


def test_missing_credentials_are_one_clear_auth_error(tmp_path, env, monkeypatch):
    monkeypatch.delenv("X_ACCESS_SECRET")
    with pytest.raises(AuthError, match="access_token_secret is empty or unset"):
        XChannel(make_account(tmp_path, handle="acme", user_id="1", **OAUTH1)).publish("hi")
    with pytest.raises(AuthError, match="has no credentials"):
        XChannel(make_account(tmp_path, handle="acme", user_id="1")).publish("hi")
    with pytest.raises(AuthError, match="channels connect acme-x"):
        XChannel(make_account(tmp_path, handle="acme", user_id="1", **OAUTH2)).publish("hi")


# --- secrets ------------------------------------------------------------------------------------


def test_no_secret_appears_in_any_error(channel, oauth2_account, net):
    """X's error bodies may echo the request: every secret is redacted from our messages."""
    oauth1_secrets = [SECRETS[k] for k in ("X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_SECRET")]
    echo = "bad auth " + " ".join(oauth1_secrets)
    for status in (400, 401, 403, 404, 429, 500):
        net.upsert("POST", f"{API}/tweets", status=status, json={"detail": echo, "title": echo, "status": status})
        with pytest.raises(Exception) as info:
            channel.publish("hello")
        text = f"{info.value} {info.value!r}"
        assert "***" in text, status
        assert not any(secret in text for secret in oauth1_secrets), status

    oauth2_secrets = [SECRETS["X_CLIENT_SECRET"], *OAUTH2_TOKENS.values()]
    echo = "bad auth " + " ".join(oauth2_secrets)
    net.add("GET", re.compile(rf"{API}/tweets\?"), status=401, json={"detail": echo, "status": 401})
    net.add("POST", TOKEN, status=400, json={"error": "invalid_request", "error_description": echo})
    with pytest.raises(AuthError) as info:
        XChannel(oauth2_account).fetch_metrics(["1"])
    text = f"{info.value} {info.value!r}"
    assert "connect acme-x" in text and "***" in text
    assert not any(secret in text for secret in oauth2_secrets)


# --- engagements ----------------------------------------------------------------------------------


def test_mentions_are_paginated_and_classified(channel, fake):
    post = fake.our_post(60)
    reply = fake.tweet_by("ann", "201", reply_to=post, mention=True, minutes_ago=30)
    quote = fake.tweet_by("bob", "202", quote=post, mention=True, minutes_ago=20)
    bare = fake.tweet_by("cyd", "203", mention=True, minutes_ago=10)
    for n in range(120):  # more than a page of 100
        fake.tweet_by(f"u{n}", str(1000 + n), mention=True, minutes_ago=5)
    found, cursor = channel.fetch_engagements(None, our_posts(fake, [post]))
    assert fake.names() == ["mentions", "mentions", "tweets"]
    assert fake.calls[1][1]["pagination_token"] == "100"
    assert "start_time" in fake.calls[0][1] and "since_id" not in fake.calls[0][1]
    assert fake.calls[0][1]["expansions"] == "author_id"
    assert fake.calls[0][1]["user.fields"] == "name,username,description,public_metrics,url,location,verified"
    by_id = {e.external_id: e for e in found}
    assert len(found) == 123
    assert (by_id[reply].kind, by_id[reply].post_remote_id, by_id[reply].in_reply_to) == ("reply", post, post)
    assert (by_id[quote].kind, by_id[quote].post_remote_id) == ("quote", post)
    assert (by_id[bare].kind, by_id[bare].post_remote_id) == ("mention", None)
    assert by_id[reply].person == Person(
        handle="@ann", name="Ann", external_id="201", profile_url="https://x.com/ann",
        headline="ann builds things", location="Berlin", followers=42, bio="ann builds things", kind="person")
    assert by_id[reply].url == f"https://x.com/ann/status/{reply}"
    assert by_id[reply].occurred_at == datetime.fromisoformat(fake.tweets[reply]["created_at"].replace("Z", "+00:00"))
    # the reply and the quote were explained by the mentions: no search, no quote_tweets
    assert json.loads(cursor)["mentions_since"] == max(fake.mention_ids, key=int)


def test_cost_of_a_poll_of_200_posts_with_10_changed(channel, fake):
    posts = [fake.our_post(60 * 24 * 6 - i * 40) for i in range(200)]
    _, cursor = channel.fetch_engagements(None, our_posts(fake, posts))
    fake.calls.clear()
    channel.request_count = 0
    changed = posts[::20]
    for n, post in enumerate(changed):
        fake.like(post, f"liker{n}", str(3000 + n))
        if n % 2:
            fake.repost(post, f"reposter{n}", str(4000 + n))
        else:  # a reply that does not mention us: only the conversation search finds it
            fake.tweet_by(f"replier{n}", str(5000 + n), reply_to=post)
    found, cursor = channel.fetch_engagements(cursor, our_posts(fake, posts))
    # 1 mentions + 2 get_tweets (100 ids each) + 1 search of 5 conversations + 10 likes + 5 reposts
    assert channel.request_count == 19 <= 2 + 2 * 10
    assert channel.request_count <= channel.poll_request_budget == 50  # the default budget leaves it alone
    assert sorted(fake.names()) == sorted(["mentions", "tweets", "tweets", "search"] + ["liking_users"] * 10 + ["retweeted_by"] * 5)
    assert len(fake.calls[1][1]["ids"].split(",")) == 100
    kinds = sorted(e.kind for e in found)
    assert kinds == ["like"] * 10 + ["reply"] * 5 + ["repost"] * 5
    like = next(e for e in found if e.kind == "like" and e.post_remote_id == changed[0])
    assert like.external_id == f"{changed[0]}:3000" and like.person.handle == "@liker0"

    # the next poll, with nothing new: the minimal requests and nothing returned
    fake.calls.clear()
    channel.request_count = 0
    again, cursor2 = channel.fetch_engagements(cursor, our_posts(fake, posts))
    assert again == []
    assert channel.request_count == 3 and fake.names() == ["mentions", "tweets", "tweets"]
    assert json.loads(cursor2) == json.loads(cursor)


def test_cursor_round_trip_and_conversation_since(channel, fake):
    post = fake.our_post(120)
    mention = fake.tweet_by("ann", "201", mention=True, minutes_ago=90)
    _, cursor = channel.fetch_engagements(None, our_posts(fake, [post]))
    first = fake.tweet_by("bob", "202", reply_to=post, minutes_ago=30)
    found, cursor = channel.fetch_engagements(cursor, our_posts(fake, [post]))
    assert [e.external_id for e in found] == [first]
    search = next(p for n, p in fake.calls if n == "search")
    assert search["query"] == f"conversation_id:{post}" and search["since_id"] == post
    second = fake.tweet_by("cyd", "203", reply_to=first, minutes_ago=5)  # deeper in the thread
    fake.tweets[post]["public_metrics"]["reply_count"] += 1
    fake.calls.clear()
    found, cursor = channel.fetch_engagements(cursor, our_posts(fake, [post]))
    assert [(e.external_id, e.kind, e.post_remote_id, e.in_reply_to) for e in found] == [(second, "reply", post, first)]
    assert fake.calls[0][1]["since_id"] == mention
    assert next(p for n, p in fake.calls if n == "search")["since_id"] == first
    state = json.loads(cursor)
    assert state["conversations"] == {post: second}
    assert state["counts"][post] == {"replies": 2, "likes": 0, "reposts": 0, "quotes": 0}
    # a post leaving the window leaves the cursor
    _, cursor = channel.fetch_engagements(cursor, [])
    assert json.loads(cursor)["counts"] == {}


def test_partial_errors_in_a_200_keep_the_rest(channel, fake):
    kept, gone = fake.our_post(50), fake.our_post(40)
    fake.like(kept, "ann", "201")
    fake.like(gone, "bob", "202")
    fake.deleted.add(gone)
    found, cursor = channel.fetch_engagements(None, our_posts(fake, [kept, gone]))
    assert [(e.kind, e.post_remote_id) for e in found] == [("like", kept)]
    assert list(json.loads(cursor)["counts"]) == [kept]


def test_quotes_without_mention_are_fetched(channel, fake):
    post = fake.our_post(50)
    quote = fake.tweet_by("dan", "204", quote=post)  # no @mention: not in the mentions timeline
    found, _ = channel.fetch_engagements(None, our_posts(fake, [post]))
    assert [(e.external_id, e.kind, e.post_remote_id) for e in found] == [(quote, "quote", post)]
    assert "quote_tweets" in fake.names() and "search" not in fake.names()


def test_a_tweet_from_quote_tweets_is_a_quote_even_without_referenced_tweets(channel, fake):
    post = fake.our_post(50)
    quote = fake.tweet_by("dan", "204", quote=post)
    fake.quotes_without_refs = True
    found, _ = channel.fetch_engagements(None, our_posts(fake, [post]))
    assert [(e.external_id, e.kind, e.post_remote_id) for e in found] == [(quote, "quote", post)]


def test_a_rate_limited_drill_down_is_retried_next_poll(channel, fake):
    a, b = fake.our_post(50), fake.our_post(40)
    fake.like(a, "ann", "201")
    fake.repost(b, "bob", "202")
    fake.rate_limited.add("liking_users")
    found, cursor = channel.fetch_engagements(None, our_posts(fake, [a, b]))
    assert [(e.kind, e.post_remote_id) for e in found] == [("repost", b)]
    assert json.loads(cursor)["counts"][a]["likes"] == 0  # not advanced: asked again next time
    fake.rate_limited.clear()
    found, cursor = channel.fetch_engagements(cursor, our_posts(fake, [a, b]))
    assert [(e.kind, e.external_id) for e in found] == [("like", f"{a}:201")]
    assert json.loads(cursor)["counts"][a]["likes"] == 1


def budget_channel(tmp_path, budget: int) -> XChannel:
    return XChannel(make_account(tmp_path, user_id="100", handle="@acme", poll_request_budget=budget, **OAUTH1))


def likers_of(found: list[Engagement], kind: str = "like") -> list[str]:
    return [e.external_id.split(":")[1] for e in found if e.kind == kind]


@pytest.mark.parametrize(("kind", "counter", "route"), [("like", "likes", "liking_users"), ("repost", "reposts", "retweeted_by")])
def test_people_beyond_the_first_page_arrive_over_two_polls_each_once(tmp_path, env, fake, kind, counter, route):
    post = fake.our_post(60)
    for n in range(250):
        (fake.like if kind == "like" else fake.repost)(post, f"fan{n}", str(10_000 + n))
    everyone = (fake.likers if kind == "like" else fake.reposters)[post]
    ch = budget_channel(tmp_path, 4)  # mentions + counters + 2 pages of people per poll
    found, cursor = ch.fetch_engagements(None, our_posts(fake, [post]))
    assert ch.request_count == 4 and fake.names() == ["mentions", "tweets", route, route]
    first = likers_of(found, kind)
    assert first == everyone[:200]
    state = json.loads(cursor)
    # recorded as seen: what was read, not X's counter; where to resume is in the cursor
    assert state["counts"][post][counter] == 200
    assert state["paging"][post][counter] == {"next": f"from-{everyone[200]}", "read": 200, "from": 0, "upto": 250}

    fake.calls.clear()
    ch.request_count = 0
    found, cursor = ch.fetch_engagements(cursor, our_posts(fake, [post]))
    assert ch.request_count == 3 and fake.names() == ["mentions", "tweets", route]
    assert fake.calls[2][1]["pagination_token"] == f"from-{everyone[200]}"
    second = likers_of(found, kind)
    assert second == everyone[200:]
    assert sorted(first + second) == sorted(everyone) and len(set(first + second)) == 250
    state = json.loads(cursor)
    assert state["counts"][post][counter] == 250 and state["paging"] == {}

    fake.calls.clear()
    again, _ = ch.fetch_engagements(cursor, our_posts(fake, [post]))
    assert again == [] and fake.names() == ["mentions", "tweets"]


def test_a_cursor_written_before_paging_existed_still_works(channel, fake):
    post = fake.our_post(60)
    old = json.dumps({"v": 1, "mentions_since": None, "conversations": {},
                      "counts": {post: {"replies": 0, "likes": 0, "reposts": 0, "quotes": 0}}})
    for n in range(120):
        fake.like(post, f"fan{n}", str(10_000 + n))
    found, cursor = channel.fetch_engagements(old, our_posts(fake, [post]))
    assert sorted(likers_of(found)) == sorted(fake.likers[post])
    assert json.loads(cursor)["counts"][post]["likes"] == 120


def test_a_429_in_the_middle_of_paging_loses_nothing(channel, fake):
    post = fake.our_post(60)
    for n in range(250):
        fake.like(post, f"fan{n}", str(10_000 + n))
    fake.answers_before_429["liking_users"] = 1  # the first page, then 429
    found, cursor = channel.fetch_engagements(None, our_posts(fake, [post]))
    first = likers_of(found)
    assert first == fake.likers[post][:100]
    assert fake.names().count("liking_users") == 2  # page 2 was refused: no third attempt
    assert json.loads(cursor)["counts"][post]["likes"] == 100
    resume = json.loads(cursor)["paging"][post]["likes"]

    fake.answers_before_429["liking_users"] = 0  # refused again from the start of the next poll
    found, cursor = channel.fetch_engagements(cursor, our_posts(fake, [post]))
    assert likers_of(found) == []
    assert json.loads(cursor)["paging"][post]["likes"] == resume and json.loads(cursor)["counts"][post]["likes"] == 100

    del fake.answers_before_429["liking_users"]
    found, cursor = channel.fetch_engagements(cursor, our_posts(fake, [post]))
    rest = likers_of(found)
    assert sorted(first + rest) == sorted(fake.likers[post]) and len(first + rest) == 250
    assert json.loads(cursor)["counts"][post]["likes"] == 250 and json.loads(cursor)["paging"] == {}


def test_likes_arriving_while_paging_are_read_after_it(tmp_path, env, fake):
    post = fake.our_post(60)
    for n in range(250):
        fake.like(post, f"fan{n}", str(10_000 + n))
    ch = budget_channel(tmp_path, 4)
    seen: list[str] = []
    found, cursor = ch.fetch_engagements(None, our_posts(fake, [post]))
    seen += likers_of(found)
    for n in range(30):  # new likers come at the top of X's list
        fake.like(post, f"late{n}", str(20_000 + n))
    found, cursor = ch.fetch_engagements(cursor, our_posts(fake, [post]))
    assert likers_of(found) == fake.likers[post][230:]  # the resumed pages are not shifted
    seen += likers_of(found)
    assert json.loads(cursor)["counts"][post]["likes"] == 250
    found, cursor = ch.fetch_engagements(cursor, our_posts(fake, [post]))
    seen += likers_of(found)
    assert set(seen) == set(fake.likers[post]) and len(set(seen)) == 280
    assert json.loads(cursor)["counts"][post]["likes"] == 280


def test_a_token_x_refuses_restarts_the_paging_from_the_top(channel, fake):
    post = fake.our_post(60)
    for n in range(250):
        fake.like(post, f"fan{n}", str(10_000 + n))
    fake.answers_before_429["liking_users"] = 1
    found, cursor = channel.fetch_engagements(None, our_posts(fake, [post]))
    state = json.loads(cursor)
    state["paging"][post]["likes"]["next"] = "expired-token"
    del fake.answers_before_429["liking_users"]
    found, cursor = channel.fetch_engagements(json.dumps(state), our_posts(fake, [post]))
    assert found == []
    # what was read is the newest part: the whole rise is read again, from the top
    assert json.loads(cursor)["paging"] == {} and json.loads(cursor)["counts"][post]["likes"] == 0
    found, cursor = channel.fetch_engagements(cursor, our_posts(fake, [post]))
    assert sorted(likers_of(found)) == sorted(fake.likers[post])  # the core keeps one copy of the first 100
    assert json.loads(cursor)["counts"][post]["likes"] == 250


def test_a_reply_search_cut_short_by_the_budget_resumes_next_poll(tmp_path, env, fake):
    post = fake.our_post(600)
    replies = [fake.tweet_by(f"r{n}", str(40_000 + n), reply_to=post, minutes_ago=500 - n) for n in range(250)]
    for n in range(3):
        fake.like(post, f"fan{n}", str(10_000 + n))
    ch = budget_channel(tmp_path, 5)  # mentions + counters + 3 pages: searches and likers take turns
    found, cursor = ch.fetch_engagements(None, our_posts(fake, [post]))
    assert ch.request_count == 5
    assert fake.names() == ["mentions", "tweets", "search", "liking_users", "search"]
    first = [e.external_id for e in found if e.kind == "reply"]
    assert len(first) == 200 and len(likers_of(found)) == 3
    state = json.loads(cursor)
    assert state["conversations"] == {} and state["counts"][post]["replies"] == 0  # nothing advanced yet
    (search,) = state["searches"]
    assert search["next"] == "200" and search["since"] == {post: post} and search["upto"] == {post: 250}

    fake.calls.clear()
    ch.request_count = 0
    found, cursor = ch.fetch_engagements(cursor, our_posts(fake, [post]))
    assert fake.names() == ["mentions", "tweets", "search"]
    resumed = fake.calls[2][1]
    assert resumed["next_token"] == "200" and resumed["since_id"] == post
    rest = [e.external_id for e in found if e.kind == "reply"]
    assert sorted(first + rest) == sorted(replies) and len(set(first + rest)) == 250
    state = json.loads(cursor)
    assert state["searches"] == [] and state["conversations"] == {post: max(replies, key=int)}
    assert state["counts"][post]["replies"] == 250

    fake.calls.clear()
    found, _ = ch.fetch_engagements(cursor, our_posts(fake, [post]))
    assert found == [] and fake.names() == ["mentions", "tweets"]


def test_the_budget_is_shared_fairly_and_never_exceeded(tmp_path, env, fake):
    posts = [fake.our_post(60 - i) for i in range(5)]
    for i, post in enumerate(posts):
        for n in range(150):
            fake.like(post, f"fan{i}x{n}", str(100_000 * (i + 1) + n))
    ch = budget_channel(tmp_path, 6)
    cursor, seen, polls = None, [], []
    for _ in range(4):
        fake.calls.clear()
        ch.request_count = 0
        found, cursor = ch.fetch_engagements(cursor, our_posts(fake, posts))
        assert ch.request_count <= 6
        seen += [e.external_id for e in found]
        polls.append(sorted({e.post_remote_id for e in found}, key=posts.index))
    # every post has its first page before any has a second; carried work goes first
    assert polls == [posts[:4], posts[:4], [posts[4]], []]
    assert len(seen) == len(set(seen)) == 750


def test_quotes_are_paged_and_a_listed_quote_is_a_quote_without_referenced_tweets(channel, fake):
    post, other = fake.our_post(120), fake.our_post(100)
    quotes = [fake.tweet_by(f"q{n}", str(30_000 + n), quote=post, minutes_ago=50 - n * 0.1) for n in range(150)]
    fake.quotes_without_refs = True
    found, cursor = channel.fetch_engagements(None, our_posts(fake, [post, other]))
    assert fake.names().count("quote_tweets") == 2
    assert sorted(e.external_id for e in found) == sorted(quotes)
    assert {(e.kind, e.post_remote_id) for e in found} == {("quote", post)}
    assert json.loads(cursor)["counts"][post]["quotes"] == 150


@pytest.mark.parametrize("value", [0, -3, "ten", True, 2.5])
def test_a_bad_poll_request_budget_is_one_config_error(tmp_path, env, value):
    with pytest.raises(ConfigError) as info:
        budget_channel(tmp_path, value)
    message = str(info.value)
    assert "accounts.acme-x.poll_request_budget" in message and "\n" not in message


def test_rate_limit_on_mentions_raises(channel, net):
    net.add("GET", re.compile(rf"{API}/users/100/mentions"), status=429, json={"title": "Too Many Requests"})
    with pytest.raises(RateLimited):
        channel.fetch_engagements(None, [])


def test_identity_is_looked_up_once_and_cached(tmp_path, env, net):
    account = make_account(tmp_path, **OAUTH1)
    net.add("GET", f"{API}/users/me", json={"data": ME})
    net.add("GET", re.compile(rf"{API}/users/100/mentions"), json={"meta": {"result_count": 0}})
    ch = XChannel(account)
    ch.fetch_engagements(None, [])
    XChannel(account).fetch_engagements(None, [])
    assert [urlsplit(c.request.url).path for c in net.calls] == ["/2/users/me", "/2/users/100/mentions", "/2/users/100/mentions"]
    assert XChannel(account).post_url("9") == "https://x.com/acme/status/9"


# --- reply ----------------------------------------------------------------------------------------


def engagement(kind: str, external_id: str = "555") -> Engagement:
    person = Person(handle="@ann", external_id="201", profile_url="https://x.com/ann")
    url = f"https://x.com/ann/status/{external_id}" if kind in ("reply", "mention", "quote") else person.profile_url
    return Engagement(external_id=external_id, kind=kind, person=person, occurred_at=datetime.now(UTC), url=url)


def test_reply_answers_under_the_tweet(channel, net):
    net.add("POST", f"{API}/tweets", json={"data": {"id": "600", "text": "thanks"}}, status=201)
    published = channel.reply(engagement("mention"), "thanks!")
    assert body_of(net.calls[0]) == {"text": "thanks!", "reply": {"in_reply_to_tweet_id": "555"}}
    assert published.remote_id == "600" and published.url == "https://x.com/acme/status/600"


def test_reply_refused_by_x_gives_the_link(channel, net):
    net.add("POST", f"{API}/tweets", status=403, json={
        "detail": "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.",
        "title": "Forbidden", "status": 403})
    with pytest.raises(ReplyNotAllowed) as info:
        channel.reply(engagement("reply"), "thanks!")
    assert info.value.url == "https://x.com/ann/status/555"
    assert "Reply to this conversation is not allowed" in str(info.value)


def test_no_reply_to_a_like(channel, net):
    with pytest.raises(ReplyNotAllowed) as info:
        channel.reply(engagement("like", "9:201"), "thanks!")
    assert info.value.url == "https://x.com/ann"
    assert len(net.calls) == 0


# --- metrics and reconciliation ----------------------------------------------------------------------


def _metrics_tweet(tid: str, private: bool = True) -> dict:
    tweet = {"id": tid, "text": "t", "public_metrics": {"retweet_count": 2, "reply_count": 3, "like_count": 4, "quote_count": 1, "bookmark_count": 5, "impression_count": 90}}
    if private:
        tweet["non_public_metrics"] = {"impression_count": 100, "url_link_clicks": 7, "user_profile_clicks": 6, "engagements": 20}
        tweet["organic_metrics"] = {"impression_count": 100, "like_count": 4, "reply_count": 3, "retweet_count": 2, "url_link_clicks": 7, "user_profile_clicks": 6}
    return tweet


def test_metrics_batched_by_100_with_private_counters(channel, net):
    def answer(request):
        ids = parse_qs(urlsplit(request.url).query)["ids"][0].split(",")
        return 200, {}, json.dumps({"data": [_metrics_tweet(i) for i in ids]})

    net.add_callback("GET", re.compile(rf"{API}/tweets\?"), answer)
    ids = [str(10_000 + i) for i in range(150)]
    metrics = channel.fetch_metrics(ids)
    assert len(net.calls) == 2 and [m.remote_id for m in metrics] == ids
    assert params_of(net.calls[0])["tweet.fields"] == "public_metrics,non_public_metrics,organic_metrics"
    m = metrics[0]
    assert (m.impressions, m.likes, m.replies, m.reposts, m.quotes, m.clicks, m.profile_clicks) == (100, 4, 3, 2, 1, 7, 6)


def test_metrics_fall_back_to_public_when_x_refuses_private_fields(channel, net):
    net.add("GET", re.compile(rf"{API}/tweets\?"), status=403, json={
        "title": "Forbidden", "status": 403,
        "detail": "Sorry, you are not authorized to access 'non_public_metrics' on the Tweet."})
    net.add("GET", re.compile(rf"{API}/tweets\?"), json={"data": [_metrics_tweet("1", private=False)]})
    [m] = channel.fetch_metrics(["1"])
    assert (m.impressions, m.likes, m.clicks) == (90, 4, None)
    assert params_of(net.calls[1])["tweet.fields"] == "public_metrics"
    channel.fetch_metrics(["1"])  # remembered: no second refusal
    assert params_of(net.calls[2])["tweet.fields"] == "public_metrics"


def test_metrics_of_old_posts_missing_private_fields_are_read_public(channel, net):
    net.add("GET", re.compile(rf"{API}/tweets\?"), json={
        "data": [_metrics_tweet("1")],
        "errors": [{"resource_id": "2", "field": "non_public_metrics", "title": "Field Authorization Error",
                    "detail": "Sorry, you are not authorized to access 'non_public_metrics' on the Tweet with ids: 2.",
                    "type": "https://api.twitter.com/2/problems/not-authorized-for-field"}]})
    net.add("GET", re.compile(rf"{API}/tweets\?"), json={"data": [_metrics_tweet("2", private=False)]})
    m1, m2 = channel.fetch_metrics(["1", "2"])
    assert (m1.clicks, m2.clicks, m2.likes) == (7, None, 4)
    assert params_of(net.calls[1])["ids"] == "2"


def test_find_recent_posts(channel, net):
    since = datetime.now(UTC) - timedelta(hours=1)
    net.add("GET", re.compile(rf"{API}/users/100/tweets"), json={
        "data": [{"id": "73", "text": "part two", "created_at": "2026-03-01T11:00:05.000Z", "conversation_id": "72",
                  "referenced_tweets": [{"type": "replied_to", "id": "72"}]},
                 {"id": "72", "text": "Q&amp;A part one", "created_at": "2026-03-01T11:00:00.000Z", "conversation_id": "72"}],
        "meta": {"result_count": 2, "next_token": "p2"}})
    net.add("GET", re.compile(rf"{API}/users/100/tweets"), json={
        "data": [{"id": "71", "text": "older", "created_at": "2026-03-01T10:00:00.000Z", "conversation_id": "71"}],
        "meta": {"result_count": 1}})
    posts = channel.find_recent_posts(since)
    assert [(p.remote_id, p.text, p.url) for p in posts] == [
        ("72", "Q&A part one", "https://x.com/acme/status/72"),
        ("72", "Q&A part one\n---\npart two", "https://x.com/acme/status/72"),
        ("71", "older", "https://x.com/acme/status/71"),
    ]
    assert posts[0].created_at == datetime(2026, 3, 1, 11, tzinfo=UTC)
    first = params_of(net.calls[0])
    assert first["start_time"] == since.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert first["tweet.fields"] == "created_at,conversation_id,referenced_tweets"
    assert "pagination_token" not in first and params_of(net.calls[1])["pagination_token"] == "p2"


# --- check --------------------------------------------------------------------------------------


def test_check_full_access(channel, net):
    net.add("GET", f"{API}/users/me", json={"data": ME})
    net.add("GET", re.compile(rf"{API}/users/100/mentions"), json={"meta": {"result_count": 0}})
    result = channel.check()
    assert result.ok and result.identity == "@acme"
    assert result.capabilities.names() == ["publish", "engagements", "reply", "metrics", "search"]


def test_check_publish_only_when_reads_are_refused(channel, net):
    net.add("GET", f"{API}/users/me", json={"data": ME})
    net.add("GET", re.compile(rf"{API}/users/100/mentions"), status=403, json={
        "client_id": "1", "required_enrollment": "Appropriate Level of API Access", "registration_url": "https://developer.x.com",
        "title": "Client Forbidden", "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.",
        "reason": "client-not-enrolled", "type": "https://api.twitter.com/2/problems/client-forbidden"})
    result = channel.check()
    assert result.ok and result.capabilities.names() == ["publish", "reply"]
    assert any(note.startswith("publish only: X refused reading mentions (403)") for note in result.notes)
    assert channel.capabilities().names() == ["publish", "reply"]  # remembered without the network


def test_check_with_bad_credentials(channel, net):
    net.add("GET", f"{API}/users/me", status=401, json={"title": "Unauthorized", "status": 401, "detail": "Unauthorized"})
    result = channel.check()
    assert not result.ok and "401" in result.notes[0]


# --- OAuth 2.0 ------------------------------------------------------------------------------------


def test_connect_runs_pkce_with_a_loopback_redirect(tmp_path, env, net, monkeypatch):
    import base64
    import hashlib

    account = make_account(tmp_path, callback_port=0, **OAUTH2)
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    net.add_passthru("http://127.0.0.1")
    net.add("POST", TOKEN, json={"token_type": "bearer", "expires_in": 7200, "access_token": "new-access-9999",
                                 "scope": "tweet.read tweet.write users.read offline.access", "refresh_token": "new-refresh-9999"})
    net.add("GET", f"{API}/users/me", json={"data": ME})
    lines: list[str] = []
    channel = XChannel(account)
    channel.connect_wait = 10
    errors = []

    def run():
        try:
            channel.connect(lines.append)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.time() + 5
    while not opened and time.time() < deadline:
        time.sleep(0.01)
    url = opened[0]
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith("https://x.com/i/oauth2/authorize?") and url in lines
    assert query["code_challenge_method"] == "S256" and "offline.access" in query["scope"].split()
    assert query["client_id"] == SECRETS["X_CLIENT_ID"]
    forged = requests.get(query["redirect_uri"], params={"code": "evil", "state": "not-it"}, timeout=5)
    assert forged.status_code == 400
    answer = requests.get(query["redirect_uri"], params={"code": "the-code", "state": query["state"]}, timeout=5)
    assert answer.status_code == 200
    thread.join(10)
    assert not errors and not thread.is_alive()

    token_call = next(c for c in net.calls if c.request.url == TOKEN)
    sent = parse_qs(token_call.request.body)
    assert sent["grant_type"] == ["authorization_code"] and sent["code"] == ["the-code"]
    assert sent["redirect_uri"] == [query["redirect_uri"]]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(sent["code_verifier"][0].encode()).digest()).rstrip(b"=").decode()
    assert challenge == query["code_challenge"]
    assert token_call.request.headers["Authorization"].startswith("Basic ")  # confidential client
    stored = load_tokens(account.workspace.state_dir, account.name)
    assert stored["access_token"] == "new-access-9999" and stored["refresh_token"] == "new-refresh-9999"
    path = token_file(account.workspace.state_dir, account.name)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert lines[-1] == f"Connected @acme; tokens stored in {path} (mode 0600: no OS keyring is available on this machine)"
    assert not any("new-access-9999" in line or "new-refresh-9999" in line for line in lines)


def test_connect_times_out_with_one_line(tmp_path, env, monkeypatch):
    monkeypatch.setattr("webbrowser.open", lambda url: None)
    channel = XChannel(make_account(tmp_path, callback_port=0, **OAUTH2))
    channel.connect_wait = 0.2
    with pytest.raises(AuthError, match="no answer from X within 0 s; run `socialsell channels connect acme-x` again"):
        channel.connect(lambda line: None)


def test_expired_token_is_refreshed_and_stored(oauth2_account, net):
    save_tokens(oauth2_account.workspace.state_dir, oauth2_account.name, {**OAUTH2_TOKENS, "expires_at": int(time.time()) - 10})
    net.add("POST", TOKEN, json={"token_type": "bearer", "expires_in": 7200, "access_token": "fresh-access-1",
                                 "refresh_token": "fresh-refresh-1", "scope": "tweet.read offline.access"})
    net.add("POST", f"{API}/tweets", json={"data": {"id": "81", "text": "hi"}}, status=201)
    channel = XChannel(oauth2_account)
    assert channel.publish("hi").remote_id == "81"
    refresh, tweet = net.calls
    assert parse_qs(refresh.request.body) == {"grant_type": ["refresh_token"], "refresh_token": [OAUTH2_TOKENS["refresh_token"]]}
    assert tweet.request.headers["Authorization"] == "Bearer fresh-access-1"
    stored = load_tokens(oauth2_account.workspace.state_dir, oauth2_account.name)
    assert stored["refresh_token"] == "fresh-refresh-1" and stored["expires_at"] > time.time() + 7000
    assert channel.request_count == 2


def test_a_401_refreshes_once_then_gives_up(oauth2_account, net):
    net.add("POST", f"{API}/tweets", status=401, json={"title": "Unauthorized", "status": 401, "detail": "Unauthorized"})
    net.add("POST", TOKEN, json={"token_type": "bearer", "expires_in": 7200, "access_token": "fresh-access-2", "refresh_token": "fresh-refresh-2"})
    channel = XChannel(oauth2_account)
    with pytest.raises(AuthError, match="401"):
        channel.publish("hi")
    assert [urlsplit(c.request.url).path for c in net.calls] == ["/2/tweets", "/2/oauth2/token", "/2/tweets"]
    assert net.calls[0].request.headers["Authorization"] == f"Bearer {OAUTH2_TOKENS['access_token']}"
    assert net.calls[2].request.headers["Authorization"] == "Bearer fresh-access-2"


def test_a_401_then_success_after_refresh(oauth2_account, net):
    net.add("GET", re.compile(rf"{API}/tweets\?"), status=401, json={"title": "Unauthorized", "status": 401})
    net.add("GET", re.compile(rf"{API}/tweets\?"), json={"data": [_metrics_tweet("1")]})
    net.add("POST", TOKEN, json={"token_type": "bearer", "expires_in": 7200, "access_token": "fresh-access-3", "refresh_token": "fresh-refresh-3"})
    [m] = XChannel(oauth2_account).fetch_metrics(["1"])
    assert m.likes == 4


def test_oauth2_image_upload_uses_the_bearer_token(oauth2_account, net, tmp_path):
    image = tmp_path / "a.jpg"
    image.write_bytes(b"\xff\xd8\xff" + b"0" * 10)
    net.add("POST", UPLOAD, json={"data": {"id": "9"}})
    net.add("POST", f"{API}/tweets", json={"data": {"id": "91", "text": "x"}}, status=201)
    XChannel(oauth2_account).publish("x", media=[str(image)])
    assert net.calls[0].request.headers["Authorization"] == f"Bearer {OAUTH2_TOKENS['access_token']}"


def test_the_channel_reads_the_time_from_the_clock_the_core_gives_it(channel, fake, net):
    """Times X does not send (when someone liked, when we published) come from ``channel.clock``,
    which the core sets to the App's clock: never the wall clock (a test clock stays in charge)."""
    at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    channel.clock = lambda: at
    post = fake.our_post(60)
    _, cursor = channel.fetch_engagements(None, our_posts(fake, [post]))
    fake.like(post, "liker", "3001")
    found, _ = channel.fetch_engagements(cursor, our_posts(fake, [post]))
    assert [(e.kind, e.occurred_at) for e in found] == [("like", at)]
    net.add("POST", f"{API}/tweets", json={"data": {"id": "1002", "text": "hi", "edit_history_tweet_ids": ["1002"]}}, status=201)
    assert channel.publish("hi").published_at == at
