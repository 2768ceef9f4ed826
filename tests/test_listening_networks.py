"""Listening on the real networks' libraries: X (tweepy, faked with ``responses``) and Bluesky
(atproto, faked with ``httpx.MockTransport``). The fakes count what they serve, so the monthly
budget is checked where it is spent: at the HTTP layer."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from sqlalchemy import select

from socialsell.db import schema as t
from socialsell.loop.listening import listen
from socialsell.plugins.channel import RateLimited, ReplyNotAllowed, SearchQuery

from .bluesky_fake import APP_PASSWORD, HANDLE, FakeBluesky
from .test_x_channel import SECRETS

API = "https://api.twitter.com/2"

X_ACCOUNT = """
[[accounts]]
name = "acme-x"
channel = "x"
user_id = "100"
handle = "acme"
consumer_key = {env = "X_CONSUMER_KEY"}
consumer_secret = {env = "X_CONSUMER_SECRET"}
access_token = {env = "X_ACCESS_TOKEN"}
access_token_secret = {env = "X_ACCESS_SECRET"}
"""

BSKY_ACCOUNT = f"""
[[accounts]]
name = "acme-bsky"
channel = "bluesky"
handle = "{HANDLE}"
app_password = {{env = "BSKY_APP_PASSWORD"}}
"""


def stream(account: str, budget: int) -> str:
    return f"""
[[listen]]
name = "buyers"
accounts = ["{account}"]
monthly_reads = {budget}
[listen.query]
keywords = ["crm"]
phrases = ["social selling"]
competitors = ["rivalinc"]
exclude = ["hiring"]
languages = ["en"]
"""


def snowflake(when: datetime, seq: int = 0) -> str:
    return str(((int(when.timestamp() * 1000) - 1288834974657) << 22) + seq)


class FakeSearch:
    """``GET /2/tweets/search/recent`` as X answers it: newest first, ``since_id``, ``max_results``
    and ``next_token``; counts every post it serves (what X bills) and every request."""

    def __init__(self, rsps: responses.RequestsMock, now: datetime):
        self.now = now
        self.tweets: list[dict] = []  # newest first
        self.users: dict[str, dict] = {}
        self.served = 0
        self.requests: list[dict[str, str]] = []
        self.rate_limited = False
        self._seq = 0
        rsps.add_callback("GET", re.compile(rf"{API}/tweets/search/recent"), self.search)

    def post(self, username: str, text: str, minutes_ago: float = 1) -> str:
        self._seq += 1
        uid = str(1000 + len(self.users)) if username not in {u["username"] for u in self.users.values()} else \
            next(k for k, u in self.users.items() if u["username"] == username)
        self.users[uid] = {"id": uid, "username": username, "name": username.title(), "description": "Head of Sales",
                           "public_metrics": {"followers_count": 500}}
        when = self.now - timedelta(minutes=minutes_ago)
        tid = snowflake(when, self._seq)
        self.tweets.insert(0, {"id": tid, "text": text, "author_id": uid, "conversation_id": tid, "lang": "en",
                               "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z")})
        self.tweets.sort(key=lambda x: int(x["id"]), reverse=True)
        return tid

    def search(self, request):
        params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.requests.append(params)
        if self.rate_limited:
            reset = int((self.now + timedelta(minutes=15)).timestamp())
            return 429, {"x-rate-limit-reset": str(reset)}, '{"title": "Too Many Requests"}'
        size = int(params["max_results"])
        assert 10 <= size <= 100, size  # what X accepts
        pool = [x for x in self.tweets if not params.get("since_id") or int(x["id"]) > int(params["since_id"])]
        start = int(params.get("next_token") or 0)
        page = pool[start:start + size]
        self.served += len(page)
        meta: dict = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if start + size < len(pool):
            meta["next_token"] = str(start + size)
        body = {"meta": meta}
        if page:
            body["data"] = page
            body["includes"] = {"users": [self.users[x["author_id"]] for x in page]}
        import json

        return 200, {"content-type": "application/json"}, json.dumps(body)


@pytest.fixture
def x_env(monkeypatch):
    monkeypatch.setenv("SOCIALSELL_NO_KEYRING", "1")
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def fake_x(clock):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeSearch(rsps, clock.now)


# --- X ------------------------------------------------------------------------------------------


def test_x_builds_the_query_from_the_stream_and_reads_on_with_since_id_and_next_token(workspace, x_env, fake_x, make_app):
    workspace.write_text(workspace.read_text() + X_ACCOUNT + stream("acme-x", 10_000))
    app = make_app()
    channel = app.channel("acme-x")
    assert channel.capabilities().search and channel.search_page_min == 10
    for i in range(15):
        fake_x.post(f"buyer{i}", f"which crm should we pick? ({i})", minutes_ago=60 - i)
    query = SearchQuery(keywords=("crm",), phrases=("social selling",), competitors=("rivalinc",), exclude=("hiring",),
                        languages=("en",))
    first = channel.search(query, None, limit=10)
    assert fake_x.requests[0]["query"] == ('(crm OR "social selling" OR @rivalinc OR from:rivalinc) -hiring lang:en '
                                           "-is:retweet -from:acme")
    assert fake_x.requests[0]["max_results"] == "10" and "since_id" not in fake_x.requests[0]
    assert len(first.found) == 10 and first.reads == 10 and first.more
    assert first.found[0].person.handle == "@buyer14" and first.found[0].url.startswith("https://x.com/buyer14/status/")
    second = channel.search(query, first.cursor, limit=10)
    assert fake_x.requests[1]["next_token"] == "10" and len(second.found) == 5 and not second.more
    fake_x.post("late", "crm for a team of 3?")
    third = channel.search(query, second.cursor, limit=10)
    assert fake_x.requests[2]["since_id"] == max((x["id"] for x in fake_x.tweets[1:]), key=int)
    assert [f.person.handle for f in third.found] == ["@late"]


def test_x_never_reads_past_the_monthly_budget_counted_at_the_http_layer(workspace, x_env, fake_x, make_app, clock):
    workspace.write_text(workspace.read_text() + X_ACCOUNT + stream("acme-x", 125))
    app = make_app()
    for i in range(300):
        fake_x.post(f"p{i % 40}", f"crm thought {i}", minutes_ago=600 - i)
    reports = listen(app, "buyers", "w1")
    assert [r["max_results"] for r in fake_x.requests] == ["100", "25"]  # asked for no more than was left
    assert fake_x.served == 125 and reports[0].reads == 125
    clock.advance(hours=2)
    for i in range(20):
        fake_x.post("more", f"crm again {i}")
    (spent,) = listen(app, "buyers", "w1")
    assert spent.skipped.startswith("monthly budget spent: 125 of 125 reads") and len(fake_x.requests) == 2
    with app.db.read() as conn:
        assert conn.execute(select(t.listen_spend.c.reads, t.listen_spend.c.requests)).one() == (125, 2)
        assert conn.execute(select(t.signals.c.id)).all().__len__() == 125


def test_x_leaves_under_ten_reads_unspent_rather_than_overspend(workspace, x_env, fake_x, make_app):
    workspace.write_text(workspace.read_text() + X_ACCOUNT + stream("acme-x", 9))
    app = make_app()
    fake_x.post("nora", "crm?")
    (report,) = listen(app, "buyers", "w1")
    assert report.skipped.startswith("monthly budget spent: 0 of 9") and fake_x.requests == []


def test_x_rate_limit_defers_the_account_and_bills_nothing(workspace, x_env, fake_x, make_app):
    workspace.write_text(workspace.read_text() + X_ACCOUNT + stream("acme-x", 500))
    app = make_app()
    fake_x.post("nora", "crm?")
    fake_x.rate_limited = True
    (report,) = listen(app, "buyers", "w1")
    assert report.error.startswith("rate limited until")
    with app.db.read() as conn:
        assert conn.execute(select(t.listen_spend.c.reads)).scalar() == 0
        assert conn.execute(select(t.accounts.c.rate_limited_until).where(t.accounts.c.name == "acme-x")).scalar()
    fake_x.rate_limited = False
    (later,) = listen(app, "buyers", "w1")
    assert later.skipped.startswith("rate limited until") and len(fake_x.requests) == 1


def test_x_refuses_a_query_longer_than_512_characters_before_any_request(workspace, x_env, fake_x, cli):
    words = ", ".join(f'"w{i:03d}x"' for i in range(120))
    workspace.write_text(workspace.read_text() + X_ACCOUNT
                         + stream("acme-x", 100).replace('keywords = ["crm"]', f"keywords = [{words}]"))
    result = cli("run", "--once")
    assert result.exit_code == 2 and "recent search takes at most 512" in result.output
    assert fake_x.requests == []


def test_x_answers_a_signal_only_where_the_post_mentions_us(workspace, x_env, fake_x, make_app):
    from socialsell.sales.signals import _engagement_of

    workspace.write_text(workspace.read_text() + X_ACCOUNT + stream("acme-x", 500))
    app = make_app()
    fake_x.post("nora", "which crm do you use?")
    listen(app, "buyers", "w1")
    with app.db.read() as conn:
        sig = dict(conn.execute(select(t.signals)).mappings().one())
    sig.update(account="acme-x", channel="x")
    with pytest.raises(ReplyNotAllowed) as refused:
        app.channel("acme-x").reply(_engagement_of(sig), "We can help")
    assert refused.value.url and "mention" in str(refused.value)


# --- Bluesky ------------------------------------------------------------------------------------


@pytest.fixture
def bsky(workspace, monkeypatch, make_app):
    monkeypatch.setenv("BSKY_APP_PASSWORD", APP_PASSWORD)
    fake = FakeBluesky()
    workspace.write_text(workspace.read_text() + BSKY_ACCOUNT + stream("acme-bsky", 40))
    app = make_app()
    app.channel("acme-bsky").transport = fake.transport
    return app, fake


def test_bluesky_searches_each_term_in_turn_and_reads_on_from_since(bsky, clock):
    app, fake = bsky
    base = clock.now - timedelta(hours=5)
    fake.say("nora.bsky.social", "Which CRM has a trial?", base)
    fake.say("omar.bsky.social", "social selling is a team sport", base + timedelta(minutes=1))
    fake.say("lina.bsky.social", "@rivalinc never answers", base + timedelta(minutes=2))
    fake.say("felix.bsky.social", "hiring: crm admin", base + timedelta(minutes=3))  # excluded here
    fake.say("hanna.bsky.social", "crm auf Deutsch", base + timedelta(minutes=4), lang="de")
    (report,) = listen(app, "buyers", "w1")
    assert [s["q"] for s in fake.searches] == ["crm", '"social selling"', "rivalinc"]
    assert all(s["lang"] == "en" and s["sort"] == "latest" for s in fake.searches)
    assert report.reads == fake.served == 4 and report.stored == 3
    with app.db.read() as conn:
        rows = {r.handle: r for r in conn.execute(select(t.signals))}
    assert set(rows) == {"@nora.bsky.social", "@omar.bsky.social", "@lina.bsky.social"}
    assert rows["@lina.bsky.social"].term == "@rivalinc" and rows["@nora.bsky.social"].raw["cid"]
    # the next run asks only for what is newer (since, inclusive: the newest seen is not stored twice)
    clock.advance(minutes=30)
    fake.say("dana.bsky.social", "our crm is a spreadsheet", clock.now - timedelta(minutes=1))
    (again,) = listen(app, "buyers", "w1")
    assert fake.searches[3]["q"] == "crm" and "since" in fake.searches[3]
    assert again.stored == 1


def test_bluesky_stops_at_the_budget(bsky, clock):
    app, fake = bsky
    for i in range(60):
        fake.say(f"p{i}.bsky.social", f"crm note {i}", clock.now - timedelta(minutes=100 - i))
    listen(app, "buyers", "w1")
    listen(app, "buyers", "w1")
    assert fake.served <= 40 and sum(int(s["limit"]) for s in fake.searches) <= 40


def test_bluesky_answers_a_signal_in_its_thread(bsky, clock):
    from socialsell.sales.signals import reply

    app, fake = bsky
    fake.say("nora.bsky.social", "Which CRM has a trial?", clock.now - timedelta(minutes=5))
    listen(app, "buyers", "w1")
    with app.db.read() as conn:
        sid, uri = conn.execute(select(t.signals.c.id, t.signals.c.external_id)).one()
    done = reply(app, sid, "We have a 14-day trial: happy to set it up")
    assert done["remote_id"].startswith("at://")
    record = fake.posts[-1]["record"]
    assert record["reply"]["parent"]["uri"] == uri and record["reply"]["root"]["uri"] == uri


def test_a_rate_limit_error_from_x_is_rate_limited_for_the_core(workspace, x_env, fake_x, make_app):
    workspace.write_text(workspace.read_text() + X_ACCOUNT + stream("acme-x", 500))
    app = make_app()
    fake_x.rate_limited = True
    with pytest.raises(RateLimited):
        app.channel("acme-x").search(SearchQuery(keywords=("crm",)), None, limit=10)
    assert len(fake_x.requests) == 1
