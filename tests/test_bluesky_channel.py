"""The Bluesky channel under the real atproto client, with the network faked at the HTTP layer
(httpx.MockTransport, tests/bluesky_fake.py): the contract kit, then what is Bluesky's own."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from socialsell_bluesky import text as bsky_text
from socialsell_bluesky.channel import BlueskyChannel

from socialsell.api import (
    AuthError,
    MediaFile,
    RateLimited,
    Rejected,
    ReplyNotAllowed,
    TransientError,
    load_tokens,
)
from socialsell.testing import ChannelContract, make_account

from .bluesky_fake import APP_PASSWORD, DID, HANDLE, FakeBluesky


@pytest.fixture
def fake():
    return FakeBluesky()


@pytest.fixture
def account(tmp_path, monkeypatch):
    monkeypatch.setenv("BSKY_APP_PASSWORD", APP_PASSWORD)
    return make_account(tmp_path, channel="bluesky", name="acme-bsky", handle=HANDLE, app_password={"env": "BSKY_APP_PASSWORD"})


def connect(account, fake) -> BlueskyChannel:
    channel = BlueskyChannel(account)
    channel.transport = fake.transport
    return channel


def calls(fake, nsid: str) -> int:
    return sum(1 for r in fake.requests if r.url.path == f"/xrpc/{nsid}")


class TestBlueskyChannel(ChannelContract):
    lazy_modules = ("atproto", "atproto_client", "httpx")
    engagement_kind = "reply"  # Bluesky's word for a comment
    engagement_handle = "@dana.bsky.social"

    @pytest.fixture
    def channel(self, account, fake):
        return connect(account, fake)

    @pytest.fixture
    def network(self, fake):
        return fake


class TestBlueskyChannelWithLikes(TestBlueskyChannel):
    engagement_kind = "like"


class TestBlueskyChannelWithReposts(TestBlueskyChannel):
    engagement_kind = "repost"


# --- text -----------------------------------------------------------------------------------


def test_graphemes_and_bytes_are_what_bluesky_counts(account):
    channel = BlueskyChannel(account)
    assert channel.measure("👍🏽" * 300) == 300 and channel.validate("👍🏽" * 300) == []
    assert channel.validate("a" * 301) == ["301 characters is over Bluesky's limit of 300"]
    family = "👨‍👩‍👧‍👦"  # one grapheme, 25 bytes
    assert channel.measure(family * 150) == 150
    assert channel.validate(family * 150) == ["3750 bytes is over Bluesky's limit of 3000 bytes"]


def test_facets_are_at_utf8_byte_offsets_and_unknown_mentions_stay_text():
    text = "🎉 Neu: https://acme.example/a?b=c. Frag @dana.bsky.social oder @ghost.example #CRM #2026"
    facets = bsky_text.facets(text, {"dana.bsky.social": "did:plc:dana"}.get)
    data = text.encode()
    assert [(f.kind, data[f.byte_start:f.byte_end].decode(), f.value) for f in facets] == [
        ("link", "https://acme.example/a?b=c", "https://acme.example/a?b=c"),
        ("mention", "@dana.bsky.social", "did:plc:dana"),
        ("tag", "#CRM", "CRM"),
    ]


def test_publish_sends_facets_resolved_through_the_pds(account, fake):
    channel = connect(account, fake)
    published = channel.publish("Hi @dana.bsky.social, see https://acme.example #launch")
    record = fake.posts[-1]["record"]
    assert published.remote_id == fake.posts[-1]["uri"] and published.url.startswith(f"https://bsky.app/profile/{HANDLE}/post/")
    kinds = [(f["features"][0]["$type"].split("#")[1], f["index"]["byteStart"], f["index"]["byteEnd"]) for f in record["facets"]]
    assert kinds == [("mention", 3, 20), ("link", 26, 46), ("tag", 47, 54)]
    assert record["facets"][0]["features"][0]["did"] == fake.people["dana.bsky.social"]


def test_images_go_with_the_post_and_oversized_ones_are_refused_before_sending(account, fake, tmp_path):
    small, big = tmp_path / "a.png", tmp_path / "b.png"
    small.write_bytes(b"\x89PNG" + b"0" * 100)
    big.write_bytes(b"0" * 2_000_001)
    channel = connect(account, fake)
    channel.publish("with a picture", media=[str(small)])
    assert calls(fake, "com.atproto.repo.uploadBlob") == 1
    assert fake.posts[-1]["record"]["embed"]["$type"] == "app.bsky.embed.images"
    before = len(fake.requests)
    with pytest.raises(Rejected, match="2000001 bytes; Bluesky takes images up to 2000000 bytes"):
        channel.publish("too big", media=[str(big)])
    assert len(fake.requests) == before


def test_each_image_carries_its_alt_text_in_the_embed(account, fake, tmp_path):
    first, second = tmp_path / "chart.png", tmp_path / "team.jpg"
    first.write_bytes(b"\x89PNG\r\n\x1a\n" + b"1" * 100)
    second.write_bytes(b"\xff\xd8\xff" + b"2" * 100)
    channel = connect(account, fake)
    channel.publish("two pictures", media=[MediaFile(str(first), "Bar chart: replies doubled in May"), str(second)])
    assert calls(fake, "com.atproto.repo.uploadBlob") == 2
    embed = fake.posts[-1]["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [image["alt"] for image in embed["images"]] == ["Bar chart: replies doubled in May", ""]
    assert all(image["image"]["ref"]["$link"] for image in embed["images"])  # the uploaded blobs


def test_a_thread_is_a_reply_chain_found_again_as_written(account, fake):
    channel = connect(account, fake)
    text = "Part one #launch\n---\nPart two\n---\nPart three"
    assert channel.validate(text) == [] and channel.measure(text) == len("Part one #launch")
    assert channel.validate("ok\n---\n" + "a" * 301) == ["thread part 2 of 2: 301 characters is over Bluesky's limit of 300"]
    published = channel.publish(text)
    first, second, third = fake.posts
    assert published.remote_id == first["uri"] and "reply" not in first["record"]
    assert second["record"]["reply"]["root"]["uri"] == third["record"]["reply"]["root"]["uri"] == first["uri"]
    assert third["record"]["reply"]["parent"]["uri"] == second["uri"]
    listed = channel.find_recent_posts(datetime(2000, 1, 1, tzinfo=UTC))
    assert [(p.remote_id, p.text) for p in listed] == [
        (first["uri"], "Part one #launch"), (first["uri"], "Part one #launch\n---\nPart two\n---\nPart three")]


def test_a_thread_that_fails_halfway_needs_a_person(account, fake):
    channel = connect(account, fake)
    channel.publish("warm up")
    original = fake.x_com_atproto_repo_createRecord
    answers = iter([original, lambda *a: httpx.Response(500, json={"error": "InternalServerError"})])
    fake.x_com_atproto_repo_createRecord = lambda *a: next(answers)(*a)
    with pytest.raises(Rejected, match=r"thread partly published: parts 1-1 of 2 are live \(https://bsky.app/profile/acme.bsky.social/post/"):
        channel.publish("one\n---\ntwo")
    assert len(fake.posts) == 2  # the warm-up and part one: nothing sent twice


# --- the session ------------------------------------------------------------------------------


def test_the_session_is_stored_and_reused_without_signing_in_again(account, fake):
    connect(account, fake).publish("one")
    stored = load_tokens(account.workspace.state_dir, account.name)
    assert list(stored) == ["session"] and stored["session"].split(":::")[:2] == [HANDLE, DID]
    assert APP_PASSWORD not in json.dumps(stored)
    second = connect(account, fake)
    second.publish("two")
    assert calls(fake, "com.atproto.server.createSession") == 1  # 30 per 5 min: never spent twice


def test_a_refreshed_session_is_stored_at_once(account, fake):
    fake.access_seconds = 60  # within atproto's 15-minute margin: it refreshes before the next call
    channel = connect(account, fake)
    channel.publish("one")
    first = load_tokens(account.workspace.state_dir, account.name)["session"]
    channel.publish("two")
    assert calls(fake, "com.atproto.server.refreshSession") >= 1
    assert load_tokens(account.workspace.state_dir, account.name)["session"] != first


def test_a_worker_takes_the_session_another_worker_refreshed(account, fake):
    fake.access_seconds = 60  # every call refreshes first, and each refresh spends the old refresh token
    first, second = connect(account, fake), connect(account, fake)
    first.publish("one")
    second.publish("two")  # refreshes: the session first holds is spent
    first.publish("three")
    assert calls(fake, "com.atproto.server.createSession") == 1 and len(fake.posts) == 3


def test_a_revoked_session_signs_in_again_with_the_app_password_once(account, fake):
    connect(account, fake).publish("one")
    fake.access, fake.refresh = set(), set()  # every token revoked, the app password still good
    connect(account, fake).publish("two")
    assert calls(fake, "com.atproto.server.createSession") == 2 and len(fake.posts) == 2


def test_a_revoked_app_password_pauses_without_showing_it(account, fake):
    fake.fail_next("auth")
    channel = connect(account, fake)
    with pytest.raises(AuthError) as caught:
        channel.publish("hello")
    assert "check handle and app_password, then run `socialsell channels resume acme-bsky`" in str(caught.value)
    assert APP_PASSWORD not in str(caught.value)
    result = connect(account, fake).check()
    assert not result.ok and "refused the credentials" in result.notes[0]


def test_missing_settings_are_named(tmp_path):
    account = make_account(tmp_path, channel="bluesky", name="b", app_password={"env": "BSKY_UNSET"})
    with pytest.raises(AuthError, match="needs handle and app_password"):
        BlueskyChannel(account).publish("hello")
    assert "needs handle and app_password" in BlueskyChannel(account).missing_credentials()


# --- errors -------------------------------------------------------------------------------------


def test_429_waits_until_ratelimit_reset(account, fake):
    channel = connect(account, fake)
    channel.publish("warm up")
    fake.faults.append("rate_limit")
    with pytest.raises(RateLimited) as caught:
        channel.publish("hello")
    assert caught.value.retry_at == datetime.fromtimestamp(fake.last_reset, UTC)  # ratelimit-reset, to the second


def test_a_5xx_on_a_write_may_have_been_applied_and_on_a_read_not(account, fake):
    channel = connect(account, fake)
    channel.publish("warm up")
    fake.faults.append("server_error")
    with pytest.raises(TransientError) as write:
        channel.publish("hello")
    assert write.value.maybe_delivered and write.value.status == 500
    fake.faults.append("server_error")
    with pytest.raises(TransientError) as read:
        channel.fetch_engagements(None, [])
    assert not read.value.maybe_delivered


def test_an_unreachable_pds_was_not_sent_to(account):
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    channel = BlueskyChannel(account)
    channel.transport = httpx.MockTransport(refuse)
    with pytest.raises(TransientError) as caught:
        channel.publish("hello")
    assert not caught.value.maybe_delivered and "connection failed (ConnectError)" in str(caught.value)


# --- engagements and replies ----------------------------------------------------------------------


def test_notifications_become_engagements_of_every_kind(account, fake):
    channel = connect(account, fake)
    ours = channel.publish("Launch day")
    _, cursor = channel.fetch_engagements(None, [])
    for kind, who in (("reply", "@dana.bsky.social"), ("quote", "@erin.bsky.social"), ("like", "@finn.bsky.social"),
                      ("repost", "@gail.bsky.social"), ("mention", "@hal.bsky.social"), ("follow", "@ivy.bsky.social")):
        fake.engage(ours.remote_id if kind != "mention" else None, kind, who, "great launch" if kind in ("reply", "quote", "mention") else None)
    engagements, _ = channel.fetch_engagements(cursor, [])
    got = {e.kind: e for e in engagements}
    assert set(got) == {"reply", "quote", "like", "repost", "mention", "follow"}
    assert got["reply"].post_remote_id == got["quote"].post_remote_id == got["like"].post_remote_id == ours.remote_id
    assert got["mention"].post_remote_id is None and got["follow"].post_remote_id is None
    assert got["quote"].text == "great launch" and got["like"].text is None
    assert got["reply"].person.handle == "@dana.bsky.social" and got["reply"].person.external_id == fake.people["dana.bsky.social"]


def test_a_reply_goes_into_the_thread_with_root_and_parent(account, fake):
    channel = connect(account, fake)
    ours = channel.publish("Launch day")
    fake.engage(ours.remote_id, "reply", "@dana.bsky.social", "pricing?")
    (engagement,), _ = channel.fetch_engagements(None, [])
    channel.reply(engagement, "DM sent!")
    reply = fake.posts[-1]["record"]["reply"]
    assert reply["root"]["uri"] == ours.remote_id
    assert (reply["parent"]["uri"], reply["parent"]["cid"]) == (engagement.external_id, engagement.raw["cid"])


def test_a_like_has_nothing_to_reply_to(account, fake):
    channel = connect(account, fake)
    ours = channel.publish("Launch day")
    fake.engage(ours.remote_id, "like", "@finn.bsky.social", None)
    (like,), _ = channel.fetch_engagements(None, [])
    with pytest.raises(ReplyNotAllowed) as caught:
        channel.reply(like, "thanks")
    assert caught.value.url == "https://bsky.app/profile/finn.bsky.social"


def test_metrics_are_bluesky_counters(account, fake):
    channel = connect(account, fake)
    ours = channel.publish("Launch day")
    for who in ("@a.bsky.social", "@b.bsky.social"):
        fake.engage(ours.remote_id, "like", who, None)
    fake.engage(ours.remote_id, "quote", "@c.bsky.social", "look")
    (m,) = channel.fetch_metrics([ours.remote_id])
    assert (m.likes, m.reposts, m.replies, m.quotes, m.impressions) == (2, 0, 0, 1, None)


def test_bluesky_is_listed_beside_the_other_plugins(cli):
    plugins = {p["id"] for p in json.loads(cli("plugins", "--json").output)}
    assert {"bluesky", "x", "linkedin", "sandbox"} <= plugins
