# ruff: noqa: F811 - the channels' fixtures are imported from their test modules, then requested by name
"""Issue 18: sharing a brand post from a rep's own account on each network, at the HTTP layer.

tweepy (X), linkedin_v2 with requests (LinkedIn) and atproto with httpx (Bluesky) run for real;
only the network is faked (``responses``, ``httpx.MockTransport``), as in each channel's tests.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from socialsell_bluesky.channel import BlueskyChannel

from socialsell.api import Rejected, SharedPost, TransientError

from .bluesky_fake import FakeBluesky
from .test_bluesky_channel import account as bsky_account  # noqa: F401 - fixtures
from .test_linkedin_channel import ORG, fake, make_channel  # noqa: F401 - fixtures
from .test_linkedin_channel import env as li_env  # noqa: F401 - fixture (X's is `env`)
from .test_x_channel import API, account, channel, env, net  # noqa: F401 - fixtures

BRAND_TWEET = "1900000000000000001"


def body_of(call) -> dict:
    return json.loads(call.request.body)


# --- X ------------------------------------------------------------------------------------------


def test_x_quote_is_a_tweet_quoting_the_brand_tweet(channel, net):
    net.add("POST", f"{API}/tweets", json={"data": {"id": "1002", "text": "My take"}}, status=201)
    published = channel.share(SharedPost(BRAND_TWEET, f"https://x.com/acme/status/{BRAND_TWEET}"), "My take", mode="quote")
    assert published.remote_id == "1002" and published.url == "https://x.com/acme/status/1002"
    assert body_of(net.calls[0]) == {"text": "My take", "quote_tweet_id": BRAND_TWEET}
    assert net.calls[0].request.headers["Authorization"].startswith("OAuth ")


def test_x_repost_is_a_retweet_whose_id_is_read_from_the_timeline(channel, net):
    net.add("POST", f"{API}/users/100/retweets", json={"data": {"retweeted": True}})
    net.add("GET", re.compile(rf"{API}/users/100/tweets"), json={"data": [
        {"id": "1003", "text": "RT @brand: launch", "created_at": "2026-03-01T11:00:00.000Z",
         "referenced_tweets": [{"type": "retweeted", "id": BRAND_TWEET}]},
        {"id": "999", "text": "older", "created_at": "2026-03-01T10:00:00.000Z"}], "meta": {"result_count": 2}})
    published = channel.share(SharedPost(BRAND_TWEET, f"https://x.com/brand/status/{BRAND_TWEET}"), "", mode="repost")
    assert published.remote_id == "1003" and published.url == f"https://x.com/brand/status/{BRAND_TWEET}"
    assert published.published_at == datetime(2026, 3, 1, 11, tzinfo=UTC)
    assert body_of(net.calls[0]) == {"tweet_id": BRAND_TWEET}
    assert net.calls[0].request.headers["Authorization"].startswith("OAuth ")


def test_x_repost_confirmed_but_not_listed_yet_is_an_unknown_outcome(channel, net):
    net.add("POST", f"{API}/users/100/retweets", json={"data": {"retweeted": True}})
    net.add("GET", re.compile(rf"{API}/users/100/tweets"), json={"meta": {"result_count": 0}})
    with pytest.raises(TransientError) as caught:
        channel.share(SharedPost(BRAND_TWEET), "", mode="repost")
    assert caught.value.maybe_delivered


def test_x_link_share_is_an_ordinary_tweet(channel, net):
    net.add("POST", f"{API}/tweets", json={"data": {"id": "1004", "text": "x"}}, status=201)
    channel.share(SharedPost(None, "https://www.linkedin.com/feed/update/urn:li:share:1/"),
                  "Worth a read https://www.linkedin.com/feed/update/urn:li:share:1/", mode="link")
    assert body_of(net.calls[0]) == {"text": "Worth a read https://www.linkedin.com/feed/update/urn:li:share:1/"}


def test_x_recent_posts_say_what_they_share(channel, net):
    net.add("GET", re.compile(rf"{API}/users/100/tweets"), json={"data": [
        {"id": "1003", "text": "RT @brand: launch", "created_at": "2026-03-01T11:00:00.000Z",
         "referenced_tweets": [{"type": "retweeted", "id": BRAND_TWEET}]},
        {"id": "1002", "text": "My take https://t.co/x", "created_at": "2026-03-01T10:59:00.000Z",
         "referenced_tweets": [{"type": "quoted", "id": BRAND_TWEET}]},
        {"id": "1001", "text": "plain", "created_at": "2026-03-01T10:58:00.000Z"}], "meta": {"result_count": 3}})
    posts = channel.find_recent_posts(datetime(2026, 3, 1, tzinfo=UTC))
    assert [(p.remote_id, p.shares) for p in posts] == [("1003", BRAND_TWEET), ("1002", BRAND_TWEET), ("1001", None)]


def test_x_quote_needs_words(channel, net):
    with pytest.raises(Rejected):
        channel.share(SharedPost(BRAND_TWEET), " ", mode="quote")
    assert not net.calls


# --- LinkedIn -------------------------------------------------------------------------------------


def test_linkedin_quote_is_a_reshare_with_the_reps_commentary(li_env, fake):
    fake.on("POST", "/rest/posts", 201, None, {"x-restli-id": "urn:li:share:7300000000000000009"})
    ch = make_channel(li_env, author="urn:li:person:Alice_1")
    published = ch.share(SharedPost("urn:li:share:7200000000000000001"), ch.prepare("My take (really)"), mode="quote")
    assert published.remote_id == "urn:li:share:7300000000000000009"
    body = json.loads(fake.calls("POST", "/rest/posts")[0].body)
    assert body["author"] == "urn:li:person:Alice_1"
    assert body["reshareContext"] == {"parent": "urn:li:share:7200000000000000001"}
    assert body["commentary"] == "My take \\(really\\)" and "content" not in body


def test_linkedin_cannot_repost_without_words_of_its_own_kind(li_env, fake):
    ch = make_channel(li_env)
    assert "repost" not in ch.share_modes
    with pytest.raises(Rejected):
        ch.share(SharedPost("urn:li:share:1"), "", mode="repost")
    assert not fake.requests


def test_linkedin_link_share_is_a_post_with_the_article(li_env, fake):
    fake.on("POST", "/rest/posts", 201, None, {"x-restli-id": "urn:li:share:5"})
    ch = make_channel(li_env, author="urn:li:person:Alice_1")
    ch.share(SharedPost(None, "https://x.com/acme/status/1"), ch.prepare("Read this https://x.com/acme/status/1"), mode="link")
    body = json.loads(fake.calls("POST", "/rest/posts")[0].body)
    assert body["content"]["article"]["source"] == "https://x.com/acme/status/1" and "reshareContext" not in body


def test_linkedin_recent_posts_say_what_they_reshare(li_env, fake):
    fake.on("GET", "/rest/posts", 200, {"elements": [
        {"id": "urn:li:share:9", "commentary": "My take", "createdAt": 1767300000000,
         "reshareContext": {"parent": "urn:li:share:1", "root": "urn:li:share:1"}},
        {"id": "urn:li:share:8", "commentary": "plain", "createdAt": 1767200000000}], "paging": {"count": 10, "start": 0}})
    ch = make_channel(li_env)
    posts = ch.find_recent_posts(datetime(2025, 12, 1, tzinfo=UTC))
    assert [(p.remote_id, p.shares) for p in posts] == [("urn:li:share:9", "urn:li:share:1"), ("urn:li:share:8", None)]
    assert ORG in fake.requests[0].url.replace("%3A", ":")


# --- Bluesky ---------------------------------------------------------------------------------------


@pytest.fixture
def bsky(bsky_account):
    fake = FakeBluesky()
    channel = BlueskyChannel(bsky_account)
    channel.transport = fake.transport
    yield channel, fake
    channel.close()


def test_bluesky_repost_is_a_repost_record_of_the_brand_post(bsky):
    channel, fake = bsky
    brand = fake.post_by("brand.bsky.social", "Launch day")
    published = channel.share(SharedPost(brand), "", mode="repost")
    [repost] = fake.reposts
    assert published.remote_id == repost["uri"] and "/app.bsky.feed.repost/" in repost["uri"]
    assert repost["record"]["subject"] == {"$type": "com.atproto.repo.strongRef", "uri": brand, "cid": fake.others[0]["cid"]}
    assert repost["record"]["createdAt"].endswith("Z")
    assert fake.others[0]["repostCount"] == 1 and not fake.posts
    [found] = channel.find_recent_posts(datetime(2020, 1, 1, tzinfo=UTC))
    assert (found.remote_id, found.shares, found.text) == (repost["uri"], brand, "")


def test_bluesky_quote_embeds_the_brand_post(bsky):
    channel, fake = bsky
    brand = fake.post_by("brand.bsky.social", "Launch day")
    published = channel.share(SharedPost(brand), "My take", mode="quote")
    [post] = fake.posts
    assert published.remote_id == post["uri"]
    assert post["record"]["text"] == "My take"
    assert post["record"]["embed"] == {"$type": "app.bsky.embed.record",
                                       "record": {"$type": "com.atproto.repo.strongRef", "uri": brand,
                                                  "cid": fake.others[0]["cid"]}}
    [found] = channel.find_recent_posts(datetime(2020, 1, 1, tzinfo=UTC))
    assert (found.remote_id, found.shares, found.text) == (post["uri"], brand, "My take")


def test_bluesky_share_of_a_deleted_post_is_rejected_before_writing(bsky):
    channel, fake = bsky
    with pytest.raises(Rejected):
        channel.share(SharedPost("at://did:plc:gone/app.bsky.feed.post/3l1"), "My take", mode="quote")
    assert not fake.posts and not fake.reposts


def test_bluesky_timeout_after_a_repost_may_have_been_applied(bsky):
    channel, fake = bsky
    brand = fake.post_by("brand.bsky.social", "Launch day")
    channel.find_recent_posts(datetime(2020, 1, 1, tzinfo=UTC))  # signed in
    fake.fail_next("timeout_after_send")
    with pytest.raises(TransientError) as caught:
        channel.share(SharedPost(brand), "", mode="repost")
    assert caught.value.maybe_delivered and len(fake.reposts) == 1
    [found] = channel.find_recent_posts(datetime(2020, 1, 1, tzinfo=UTC))
    assert found.shares == brand  # what the reconcile finds instead of reposting again


# --- the contract kit --------------------------------------------------------------------------------


def test_the_contract_kit_refuses_share_modes_a_channel_does_not_implement(tmp_path):
    from socialsell_sandbox.channel import SandboxChannel

    from socialsell.api import Channel, Published
    from socialsell.testing import check_attributes, make_account

    class Boasting(Channel):
        name = "boasting"
        share_modes = ("repost", "link")

        def publish(self, text, *, media=()):
            return Published(remote_id="1")

    class Odd(Boasting):
        share_modes = ("retweet",)

    account = make_account(tmp_path, channel="boasting")
    with pytest.raises(AssertionError, match="does not implement share"):
        check_attributes(Boasting(account))
    with pytest.raises(AssertionError, match="a tuple of repost, quote, link"):
        check_attributes(Odd(account))
    check_attributes(SandboxChannel(make_account(tmp_path / "s", channel="sandbox")))
