"""The LinkedIn channel against a fake api.linkedin.com (``responses``); linkedin_v2 runs for real."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests
import responses
import time_machine
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError

from socialsell.credentials import load_tokens, save_tokens, token_file
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

from .linkedin_fake import FakeLinkedIn, enc

FIXTURES = Path(__file__).parent / "fixtures" / "linkedin"
TOKEN = "AQV-test-access-token-5f3e2a"
REFRESH = "AQX-test-refresh-token-77ab"
CLIENT_SECRET = "client-secret-9c8d7e"
ORG = "urn:li:organization:2414183"
MEMBER = "urn:li:person:Zx9_abc"
POST = "urn:li:share:7100000000000000001"
POST2 = "urn:li:ugcPost:7100000000000000002"
SECRETS = (TOKEN, REFRESH, CLIENT_SECRET)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("SOCIALSELL_NO_KEYRING", "1")
    monkeypatch.setenv("LINKEDIN_TOKEN", TOKEN)
    monkeypatch.setenv("LINKEDIN_CLIENT_SECRET", CLIENT_SECRET)
    return tmp_path


def make_channel(tmp_path, **settings):
    from socialsell_linkedin.channel import LinkedInChannel

    account = {"name": "acme-li", "channel": "linkedin", "author": ORG, "access_token": {"env": "LINKEDIN_TOKEN"}}
    account.update(settings)
    account = {k: v for k, v in account.items() if v is not None}
    ws = build_workspace(tmp_path / "socialsell.toml", {"accounts": [account]})
    return LinkedInChannel(ws.accounts["acme-li"])


@pytest.fixture
def jan2026():
    """The fixtures' engagements happened on 2026-01-01; polls run the day after."""
    with time_machine.travel(datetime(2026, 1, 2, 12, 0, tzinfo=UTC)):
        yield


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")
        yield FakeLinkedIn(rsps)


def assert_no_secret(error: BaseException):
    for secret in SECRETS:
        assert secret not in str(error)
        assert secret not in repr(error.args)


def assert_clean_request(request):
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in request.url
    assert "oauth2_access_token" not in request.url
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert re.fullmatch(r"\d{6}", request.headers["LinkedIn-Version"])


# --- plugin registration and laziness -------------------------------------------------------


def test_hook_register_channels_registers_linkedin():
    import socialsell_linkedin
    from socialsell_linkedin.channel import LinkedInChannel

    registered = {}
    socialsell_linkedin.register_channels(register=lambda name, cls: registered.setdefault(name, cls))
    assert registered == {"linkedin": LinkedInChannel}
    assert LinkedInChannel.name == "linkedin" and LinkedInChannel.max_length == 3000


def test_hook_register_channels_is_found_through_the_entry_point():
    from socialsell_linkedin.channel import LinkedInChannel

    from socialsell.plugins.manager import build_plugin_manager, channel_types

    assert channel_types(build_plugin_manager())["linkedin"] is LinkedInChannel


def test_import_and_construction_load_no_network_library(tmp_path):
    code = (
        "import sys\n"
        "import socialsell_linkedin\n"
        "assert 'linkedin_v2' not in sys.modules and 'requests' not in sys.modules, 'plugin import'\n"
        "from socialsell.workspace import build_workspace\n"
        "from socialsell_linkedin.channel import LinkedInChannel\n"
        f"ws = build_workspace(__import__('pathlib').Path({str(tmp_path)!r}) / 's.toml', "
        "{'accounts': [{'name': 'a', 'channel': 'linkedin', 'author': 'urn:li:organization:1'}]})\n"
        "ch = LinkedInChannel(ws.accounts['a'])\n"
        "ch.capabilities(); ch.prepare('#hi (x)'); ch.post_url('urn:li:share:1')\n"
        "assert 'linkedin_v2' not in sys.modules and 'requests' not in sys.modules, 'construction'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "SOCIALSELL_NO_KEYRING": "1"})
    assert result.returncode == 0, result.stderr


# --- text -----------------------------------------------------------------------------------


def test_prepare_escapes_little_text_and_keeps_hashtags(env):
    ch = make_channel(env)
    text = "Hi @bob (see [docs]) <now> a|b {x} *bold* _it_ ~s~ back\\slash #AI #2024 C# x#y"
    assert ch.prepare(text) == (
        "Hi \\@bob \\(see \\[docs\\]\\) \\<now\\> a\\|b \\{x\\} \\*bold\\* \\_it\\_ \\~s\\~ back\\\\slash "
        "{hashtag|\\#|AI} \\#2024 C\\# x\\#y"
    )
    # what LinkedIn shows is what the author wrote: that is what counts against 3000
    assert ch.measure(ch.prepare(text)) == len(text)


def test_prepare_leaves_url_fragments_as_text_not_hashtags(env):
    ch = make_channel(env)
    prepared = ch.prepare("Read https://acme.example/a_b#pricing now #saas")
    assert prepared == "Read https://acme.example/a\\_b\\#pricing now {hashtag|\\#|saas}"


def test_validate_counts_rendered_length(env):
    ch = make_channel(env)
    assert ch.validate(ch.prepare("(" * 3000)) == []
    assert "over LinkedIn's limit of 3000" in ch.validate(ch.prepare("x" * 3001))[0]


# --- publishing -----------------------------------------------------------------------------


def test_publish_as_organization_sends_the_documented_body(env, fake):
    fake.on("POST", "/rest/posts", 201, None, {"x-restli-id": "urn:li:share:7200000000000000001"})
    ch = make_channel(env)
    published = ch.publish(ch.prepare("Launch day (finally) #B2B"))
    assert published.remote_id == "urn:li:share:7200000000000000001"
    assert published.url == "https://www.linkedin.com/feed/update/urn:li:share:7200000000000000001/"
    (request,) = fake.calls("POST", "/rest/posts")
    assert_clean_request(request)
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "author": ORG,
        "commentary": "Launch day \\(finally\\) {hashtag|\\#|B2B}",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert ch.request_count == 1


def test_publish_as_member(env, fake):
    fake.on("POST", "/rest/posts", 201, None, {"x-restli-id": "urn:li:share:7200000000000000002"})
    ch = make_channel(env, author=MEMBER, version="202601")
    assert ch.publish("hello").remote_id == "urn:li:share:7200000000000000002"
    (request,) = fake.calls("POST", "/rest/posts")
    assert json.loads(request.body)["author"] == MEMBER
    assert request.headers["LinkedIn-Version"] == "202601"
    assert_clean_request(request)


def test_publish_with_organization_id_setting(env, fake):
    fake.on("POST", "/rest/posts", 201, None, {"x-restli-id": "urn:li:share:1"})
    ch = make_channel(env, author=None, organization_id=2414183)
    ch.publish("hi")
    assert json.loads(fake.calls("POST")[0].body)["author"] == ORG


def test_article_title_falls_back_to_the_text_after_the_link_or_the_host(env, fake):
    from socialsell_linkedin.channel import _article_title

    assert _article_title("https://acme.example/x\nThe 2026 guide", "https://acme.example/x") == "The 2026 guide"
    assert _article_title("https://acme.example/x", "https://acme.example/x") == "acme.example"


def test_publish_takes_the_first_link_as_article(env, fake):
    fake.on("POST", "/rest/posts", 201, None, {"x-restli-id": "urn:li:share:3"})
    ch = make_channel(env)
    ch.publish(ch.prepare("Our 2026 pricing guide: https://acme.example/guide_2026?utm=li. Also https://b.example"))
    body = json.loads(fake.calls("POST", "/rest/posts")[0].body)
    assert body["content"] == {"article": {"source": "https://acme.example/guide_2026?utm=li", "title": "Our 2026 pricing guide"}}
    assert "guide\\_2026" in body["commentary"]


def test_publish_uploads_images(env, fake, tmp_path):
    image = tmp_path / "chart.png"
    image.write_bytes(b"\x89PNG fake image bytes")
    upload_url = "https://www.linkedin.com/dms-uploads/sp/v2/D5610AQ/upload-token"
    fake.on("POST", "/rest/images", 200, {"value": {"uploadUrlExpiresAt": 1767300000000, "uploadUrl": upload_url, "image": "urn:li:image:C4E10AQFoyyAjHPMQuQ"}})
    fake.on("PUT", "/dms-uploads/sp/v2/D5610AQ/upload-token", 201, None)
    fake.on("POST", "/rest/posts", 201, None, {"x-restli-id": "urn:li:share:4"})
    ch = make_channel(env)
    ch.publish(ch.prepare("See the chart https://acme.example/x"), media=[str(image)])
    init, post = fake.calls("POST")
    assert fake.query(init) == {"action": "initializeUpload"}
    assert json.loads(init.body) == {"initializeUploadRequest": {"owner": ORG}}
    (put,) = fake.calls("PUT")
    assert put.body == image.read_bytes()
    assert put.headers["Authorization"] == f"Bearer {TOKEN}" and put.headers["Content-Type"] == "image/png"
    assert json.loads(post.body)["content"] == {"media": {"id": "urn:li:image:C4E10AQFoyyAjHPMQuQ"}}
    assert ch.request_count == 3


def test_duplicate_post_raises_duplicate_content_with_the_existing_urn(env, fake):
    fake.on("POST", "/rest/posts", 422, {
        "message": "Content is a duplicate of urn:li:share:7100000000000000001",
        "code": "DUPLICATE_POST", "status": 422,
    })
    ch = make_channel(env)
    with pytest.raises(DuplicateContent) as info:
        ch.publish("same again")
    assert info.value.existing_id == "urn:li:share:7100000000000000001"
    assert info.value.status == 422
    assert_no_secret(info.value)


def test_401_is_auth_error(env, fake):
    fake.on("POST", "/rest/posts", 401, {"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN", "message": "The token used in the request has been revoked by the user"})
    with pytest.raises(AuthError) as info:
        make_channel(env).publish("x")
    assert "REVOKED_ACCESS_TOKEN" in str(info.value) and "\n" not in str(info.value)
    assert_no_secret(info.value)


def test_403_access_denied_is_rejected_with_linkedins_code_and_message(env, fake):
    fake.on("POST", "/rest/posts", 403, {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                                          "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE.20251001"})
    with pytest.raises(Rejected) as info:
        make_channel(env).publish("x")
    assert "ACCESS_DENIED" in str(info.value)
    assert "Not enough permissions to access: partnerApiPostsExternal.CREATE.20251001" in str(info.value)
    assert info.value.status == 403


def test_other_4xx_is_rejected_with_linkedins_message(env, fake):
    fake.on("POST", "/rest/posts", 400, {"status": 400, "message": "/commentary :: length 3001 exceeds 3000"})
    with pytest.raises(Rejected, match="length 3001 exceeds 3000"):
        make_channel(env).publish("x")


def test_429_waits_until_next_midnight_utc(env, fake):
    fake.on("POST", "/rest/posts", 429, {"status": 429, "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."})
    with time_machine.travel(datetime(2026, 3, 14, 22, 17, 5, tzinfo=UTC), tick=False), pytest.raises(RateLimited) as info:
        make_channel(env).publish("x")
    assert info.value.retry_at == datetime(2026, 3, 15, 0, 0, tzinfo=UTC)


def test_5xx_on_publish_may_have_been_delivered(env, fake):
    fake.on("POST", "/rest/posts", 504, {"status": 504, "message": "Gateway timeout"})
    with pytest.raises(TransientError) as info:
        make_channel(env).publish("x")
    assert info.value.maybe_delivered is True and info.value.status == 504


def test_5xx_on_a_read_was_not_delivered(env, fake):
    fake.on("GET", "/rest/posts", 503, None)
    with pytest.raises(TransientError) as info:
        make_channel(env).find_recent_posts(datetime(2026, 1, 1, tzinfo=UTC))
    assert info.value.maybe_delivered is False


def test_read_timeout_on_publish_is_transient_and_maybe_delivered(env, fake):
    fake.on("POST", "/rest/posts", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(TransientError, match="did not answer within 30s") as info:
        make_channel(env).publish("x")
    assert info.value.maybe_delivered is True
    assert_no_secret(info.value)


def test_connect_timeout_was_not_delivered(env, fake):
    fake.on("POST", "/rest/posts", body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(TransientError) as info:
        make_channel(env).publish("x")
    assert info.value.maybe_delivered is False


def test_connection_error_is_transient(env, fake):
    fake.on("GET", "/rest/organizations/2414183", body=requests.exceptions.ConnectionError("reset"))
    result = make_channel(env).check()
    assert result.ok is False and "connection failed" in result.notes[0]


def _refused() -> requests.exceptions.ConnectionError:
    """What requests raises when the connection is refused (nothing was sent)."""
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/rest/posts", NewConnectionError(None, "[Errno 111] Connection refused")))


def _no_dns() -> requests.exceptions.ConnectionError:
    """What requests raises when api.linkedin.com does not resolve (nothing was sent)."""
    reason = NameResolutionError("api.linkedin.com", None, socket.gaierror(-2, "Name or service not known"))
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/rest/posts", reason))


def _reset_after_sending() -> requests.exceptions.ConnectionError:
    """What requests raises when LinkedIn drops the connection after the request went out."""
    return requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer")))


@pytest.mark.parametrize(("failure", "maybe_delivered"), [
    (_no_dns, False), (_refused, False), (lambda: requests.exceptions.SSLError("handshake failed"), False),
    (_reset_after_sending, True),
])
def test_a_publish_that_never_reached_linkedin_is_not_sent(env, fake, failure, maybe_delivered):
    fake.on("POST", "/rest/posts", body=failure())
    with pytest.raises(TransientError) as info:
        make_channel(env).publish("x")
    assert info.value.maybe_delivered is maybe_delivered
    assert ("before the request was sent" in str(info.value)) is not maybe_delivered
    assert_no_secret(info.value)
    assert len(fake.calls("POST", "/rest/posts")) == 1


def test_a_really_refused_connection_is_not_sent(env):
    """No fake: requests meets a closed local port, as it would a LinkedIn it cannot reach."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    channel = make_channel(env)
    with pytest.raises(TransientError) as info:
        channel.client.request("POST", f"https://127.0.0.1:{port}/rest/posts", body={"commentary": "x"})
    assert info.value.maybe_delivered is False and "before the request was sent" in str(info.value)
    assert_no_secret(info.value)


def test_no_secret_in_any_error_even_when_linkedin_echoes_it(env, fake, caplog):
    caplog.set_level("DEBUG")
    fake.on("POST", "/rest/posts", 403, {"status": 403, "code": "ACCESS_DENIED", "message": f"token {TOKEN} lacks w_organization_social"})
    fake.on("GET", "/rest/posts", 500, {"status": 500, "message": f"bad {TOKEN}"})
    ch = make_channel(env)
    errors = []
    for call in (lambda: ch.publish("x"), lambda: ch.find_recent_posts(datetime(2026, 1, 1, tzinfo=UTC))):
        with pytest.raises(Exception) as info:
            call()
        errors.append(info.value)
    for error in errors:
        assert_no_secret(error)
    assert "***" in str(errors[0])
    assert TOKEN not in caplog.text and CLIENT_SECRET not in caplog.text
    assert "POST /rest/posts -> 403" in caplog.text


def test_missing_token_is_auth_error(env, fake, monkeypatch):
    monkeypatch.delenv("LINKEDIN_TOKEN")
    with pytest.raises(AuthError, match="channels connect acme-li"):
        make_channel(env).publish("x")
    assert fake.requests == []


# --- reconcile ------------------------------------------------------------------------------


def test_find_recent_posts_lists_our_posts_since(env, fake):
    fake.on("GET", "/rest/posts", 200, fixture("posts_by_author.json"))
    ch = make_channel(env)
    posts = ch.find_recent_posts(datetime(2026, 1, 1, tzinfo=UTC))
    assert [p.remote_id for p in posts] == ["urn:li:share:7100000000000000003", POST]
    assert posts[1].text == "Launch day \\(finally\\)"
    assert posts[1].created_at == datetime.fromtimestamp(1767250000, UTC)
    assert posts[1].url == f"https://www.linkedin.com/feed/update/{POST}/"
    (request,) = fake.requests
    assert f"author={enc(ORG)}" in request.url
    assert fake.query(request)["q"] == "author"
    assert request.headers["X-RestLi-Method"] == "FINDER"


# --- engagements ----------------------------------------------------------------------------


def org_poll_fakes(fake, notifications=None):
    fake.on("GET", "/rest/socialMetadata", 200, fixture("social_metadata.json"))
    fake.on("GET", f"/rest/socialActions/{enc(POST)}/comments", 200, fixture("comments_page1.json"))
    fake.on("GET", f"/rest/socialActions/{enc(POST)}/comments", 200, fixture("comments_page2.json"))
    parent = "urn:li:comment:(urn:li:activity:7100000000000000099,7100000000000000501)"
    fake.on("GET", f"/rest/socialActions/{enc(parent)}/comments", 200, fixture("nested_comments.json"))
    fake.on("GET", f"/rest/reactions/(entity:{enc(POST)})", 200, fixture("reactions.json"))
    fake.on("GET", "/rest/organizationalEntityNotifications", 200, notifications or fixture("notifications.json"))
    fake.on("GET", "/rest/people", 200, {"results": {
        "(id:ann123)": {"localizedFirstName": "Ann", "localizedLastName": "Lee", "vanityName": "annlee", "localizedHeadline": "CTO at Globex"},
    }, "statuses": {}, "errors": {}})
    fake.on("GET", "/rest/organizationsLookup", 200, {"results": {"5550001": {"localizedName": "Initech", "vanityName": "initech"}}})


OUR_POSTS = [OurPost(POST, datetime(2026, 1, 1, tzinfo=UTC)), OurPost(POST2, datetime(2026, 1, 1, tzinfo=UTC))]


def test_fetch_engagements_reads_comments_replies_reactions_and_mentions(env, fake, jan2026):
    org_poll_fakes(fake)
    ch = make_channel(env)
    ch.page_size = 2
    found, cursor = ch.fetch_engagements(None, OUR_POSTS)
    by_kind = {}
    for e in found:
        by_kind.setdefault(e.kind, []).append(e)
    assert sorted(by_kind) == ["comment", "like", "mention", "reply"]

    comments = {e.person.external_id: e for e in by_kind["comment"]}
    assert set(comments) == {"urn:li:person:ann123", "urn:li:organization:5550001", "urn:li:person:bo456"}
    ann = comments["urn:li:person:ann123"]
    assert ann.external_id == "urn:li:comment:(urn:li:activity:7100000000000000099,7100000000000000501)"
    assert ann.text == "What does pricing look like for 50 seats?"
    assert ann.post_remote_id == POST and ann.in_reply_to is None
    assert ann.occurred_at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert ann.person.handle == "annlee" and ann.person.name == "Ann Lee"
    assert ann.person.profile_url == "https://www.linkedin.com/in/annlee/" and ann.person.headline == "CTO at Globex"
    assert ann.url.startswith(f"https://www.linkedin.com/feed/update/{POST}/?commentUrn=urn%3Ali%3Acomment%3A")
    initech = comments["urn:li:organization:5550001"]
    assert initech.person.name == "Initech" and initech.person.profile_url == "https://www.linkedin.com/company/initech/"
    assert comments["urn:li:person:bo456"].person.handle == "urn:li:person:bo456"  # no profile returned

    (reply,) = by_kind["reply"]
    assert reply.in_reply_to == ann.external_id and reply.text == "Same question here, we are 80 people"
    assert reply.post_remote_id == POST

    likes = {e.person.external_id: e.raw["reaction_type"] for e in by_kind["like"]}
    assert likes == {"urn:li:person:dee321": "PRAISE", "urn:li:person:ann123": "LIKE"}

    mentions = {e.person.external_id: e for e in by_kind["mention"]}
    assert mentions["urn:li:person:eve555"].text == "Great webinar by Acme today"
    assert mentions["urn:li:person:eve555"].url == "https://www.linkedin.com/feed/update/urn:li:share:7100000000000000777/"
    assert mentions["urn:li:person:fay666"].external_id.startswith("urn:li:comment:")

    # paging: two pages of top-level comments with start/count
    pages = fake.calls("GET", f"/rest/socialActions/{enc(POST)}/comments")
    assert [(fake.query(r)["start"], fake.query(r)["count"]) for r in pages] == [("0", "2"), ("2", "2")]
    # the unchanged post (no comments, no reactions) cost nothing beyond the batched metadata
    assert not [r for r in fake.requests if enc(POST2) in r.url and "socialMetadata" not in r.url]
    (meta,) = fake.calls("GET", "/rest/socialMetadata")
    assert f"ids=List({enc(POST)},{enc(POST2)})" in meta.url
    (notes,) = fake.calls("GET", "/rest/organizationalEntityNotifications")
    assert "actions=List(SHARE_MENTION,COMMENT_MENTION)" in notes.url and f"organizationalEntity={enc(ORG)}" in notes.url
    window_start = int(datetime(2025, 12, 26, 12, 0, tzinfo=UTC).timestamp() * 1000)  # 7-day window
    assert abs(int(re.search(r"timeRange=\(start:(\d+),", notes.url).group(1)) - window_start) < 5000
    (people,) = fake.calls("GET", "/rest/people")
    assert "ids=List((id:ann123),(id:bo456),(id:cy789),(id:dee321),(id:eve555),(id:fay666))" in unquote(people.url)
    for r in fake.requests:
        assert_clean_request(r)
    # metadata, 2 comment pages, nested replies, reactions, notifications, people, organizations
    assert ch.request_count == len(fake.requests) == 8
    json.loads(cursor)


def test_second_poll_returns_nothing_new_and_costs_little(env, fake, jan2026):
    org_poll_fakes(fake)
    ch = make_channel(env)
    ch.page_size = 2
    first, cursor = ch.fetch_engagements(None, OUR_POSTS)
    assert len(first) == 8
    fake.requests.clear()
    ch.request_count = 0
    fake.routes[("GET", "/rest/organizationalEntityNotifications")] = [(200, {"paging": {}, "elements": []}, {}, True)]
    again, cursor2 = ch.fetch_engagements(cursor, OUR_POSTS)
    assert again == []
    assert ch.request_count == 2  # the batched metadata and the notifications
    since = json.loads(cursor)["mentions_since"]
    assert since == 1767267600000
    assert f"timeRange=(start:{since + 1}," in fake.calls("GET", "/rest/organizationalEntityNotifications")[0].url


def test_a_new_comment_is_read_once_even_when_the_list_is_read_again(env, fake, jan2026):
    org_poll_fakes(fake)
    ch = make_channel(env)
    ch.page_size = 2
    _, cursor = ch.fetch_engagements(None, OUR_POSTS)
    meta = fixture("social_metadata.json")
    meta["results"][POST]["commentSummary"]["count"] = 5
    fake.routes[("GET", "/rest/socialMetadata")] = [(200, meta, {}, True)]
    page2 = fixture("comments_page2.json")
    newer = dict(page2["elements"][0], id="7100000000000000504", actor="urn:li:person:gus1",
                 commentUrn="urn:li:comment:(urn:li:activity:7100000000000000099,7100000000000000504)")
    page2["elements"].append(newer)
    fake.routes[("GET", f"/rest/socialActions/{enc(POST)}/comments")] = [
        (200, fixture("comments_page1.json"), {}, True), (200, page2, {}, True)]
    fake.routes[("GET", "/rest/organizationalEntityNotifications")] = [(200, {"elements": []}, {}, True)]
    fake.requests.clear()
    found, _ = ch.fetch_engagements(cursor, OUR_POSTS)
    assert [(e.kind, e.person.external_id) for e in found] == [("comment", "urn:li:person:gus1")]
    # the nested replies of the first comment did not change: not read again
    assert not [r for r in fake.requests if "7100000000000000501" in unquote(r.url)]


def _note(action: str, at: int, **fields) -> dict:
    return {"organizationalEntity": ORG, "action": action, "lastModifiedAt": at, **fields}


COMMENT_URN = "urn:li:comment:(urn:li:activity:7100000000000000889,7100000000000000901)"
MENTIONING_POST = "urn:li:share:7100000000000000777"


def test_a_notifications_action_decides_what_it_is_and_who_made_it(env, fake, jan2026, caplog):
    notes = [
        # a post mentioning the page; the comment URN beside it does not make it a comment mention
        _note("SHARE_MENTION", 1767266600000, sourcePost=MENTIONING_POST, generatedActivity=COMMENT_URN,
              decoratedSourcePost={"owner": "urn:li:person:eve555", "entity": MENTIONING_POST, "text": "Acme rocks"}),
        # a comment mentioning the page: its author is the comment's owner
        _note("COMMENT_MENTION", 1767266700000, sourcePost="urn:li:share:7100000000000000888", generatedActivity=COMMENT_URN,
              decoratedGeneratedActivity={"comment": {"owner": "urn:li:person:fay666", "entity": COMMENT_URN, "text": "ask Acme"}},
              decoratedSourcePost={"owner": "urn:li:person:postowner1", "entity": "urn:li:share:7100000000000000888"}),
        # the same without the comment's data: never the post's owner, never a placeholder
        _note("COMMENT_MENTION", 1767266800000, sourcePost="urn:li:share:7100000000000000888",
              generatedActivity="urn:li:comment:(urn:li:activity:7100000000000000889,7100000000000000902)",
              decoratedSourcePost={"owner": "urn:li:person:postowner1", "entity": "urn:li:share:7100000000000000888"}),
        # undecorated, but the notification names its actor
        _note("SHARE_MENTION", 1767266900000, sourcePost="urn:li:share:7100000000000000999", actor="urn:li:person:hal1"),
        _note("SHARE_MENTION", 1767267000000, sourcePost="urn:li:share:7100000000000000998", actor="urn:li:person:ida2"),
        # undecorated and anonymous: skipped
        _note("SHARE_MENTION", 1767267100000, sourcePost="urn:li:share:7100000000000000997"),
        # an action that is not a mention
        _note("COMMENT", 1767267200000, sourcePost=POST, generatedActivity=COMMENT_URN,
              decoratedGeneratedActivity={"comment": {"owner": "urn:li:person:jo3", "entity": COMMENT_URN}}),
    ]
    org_poll_fakes(fake, notifications={"paging": {"start": 0, "count": 100, "total": len(notes)}, "elements": notes})
    caplog.set_level(logging.INFO, logger="socialsell.linkedin")
    found, cursor = make_channel(env).fetch_engagements(None, OUR_POSTS)
    mentions = [(e.external_id, e.person.external_id, e.raw["action"], e.raw["comment_urn"], e.raw["source_post"])
                for e in found if e.kind == "mention"]
    assert mentions == [
        (MENTIONING_POST, "urn:li:person:eve555", "SHARE_MENTION", None, MENTIONING_POST),
        (COMMENT_URN, "urn:li:person:fay666", "COMMENT_MENTION", COMMENT_URN, "urn:li:share:7100000000000000888"),
        ("urn:li:share:7100000000000000999", "urn:li:person:hal1", "SHARE_MENTION", None, "urn:li:share:7100000000000000999"),
        ("urn:li:share:7100000000000000998", "urn:li:person:ida2", "SHARE_MENTION", None, "urn:li:share:7100000000000000998"),
    ]
    people = {e.person.handle for e in found}
    assert not any("unknown" in h or "postowner" in h for h in people)
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 3
    assert any("COMMENT_MENTION" in m and "7100000000000000902" in m and "did not say who" in m for m in skipped)
    assert any("urn:li:share:7100000000000000997" in m for m in skipped)
    assert any("'COMMENT'" in m and "not a mention" in m for m in skipped)
    assert json.loads(cursor)["mentions_since"] == 1767267200000  # skipped ones are not read again


def test_comments_and_reactions_without_an_author_never_share_a_placeholder(env, fake, jan2026, caplog):
    org_poll_fakes(fake)
    page = fixture("comments_page2.json")
    anonymous = dict(page["elements"][0], id="7100000000000000599",
                     commentUrn="urn:li:comment:(urn:li:activity:7100000000000000099,7100000000000000599)")
    anonymous.pop("actor")
    anonymous["created"] = {"time": 1767263600000}
    page["elements"].append(anonymous)
    page["paging"] = {"start": 0, "count": 100, "total": 2}
    fake.routes[("GET", f"/rest/socialActions/{enc(POST)}/comments")] = [(200, page, {}, True)]
    reactions = fixture("reactions.json")
    for reaction in reactions["elements"]:  # no created.actor: the reaction id still names who
        reaction["created"] = {"time": reaction["created"]["time"]}
    reactions["elements"].append({"reactionType": "LIKE", "root": POST, "created": {"time": 1767260000000}})
    fake.routes[("GET", f"/rest/reactions/(entity:{enc(POST)})")] = [(200, reactions, {}, True)]
    caplog.set_level(logging.WARNING, logger="socialsell.linkedin")
    found, _ = make_channel(env).fetch_engagements(None, OUR_POSTS)
    assert sorted((e.kind, e.person.external_id) for e in found if e.kind in ("comment", "like")) == [
        ("comment", "urn:li:person:bo456"),
        ("like", "urn:li:person:ann123"), ("like", "urn:li:person:dee321"),
    ]
    assert all(e.person.external_id and e.person.external_id.startswith(("urn:li:person:", "urn:li:organization:")) for e in found)
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert any("7100000000000000599" in m and "did not say who wrote it" in m for m in skipped)
    assert any("did not say who reacted" in m for m in skipped)


def test_member_without_r_member_social_reads_no_engagements(env, fake):
    ch = make_channel(env, author=MEMBER, scopes=["openid", "profile", "w_member_social"])
    assert ch.fetch_engagements("c", OUR_POSTS) == ([], "c")
    assert fake.requests == []


# --- replies --------------------------------------------------------------------------------


def comment_engagement(kind="comment", in_reply_to=None):
    cid = "urn:li:comment:(urn:li:activity:7100000000000000099,7100000000000000601)" if kind == "reply" else \
        "urn:li:comment:(urn:li:activity:7100000000000000099,7100000000000000501)"
    return Engagement(external_id=cid, kind=kind, person=Person(handle="urn:li:person:ann123"),
                      occurred_at=datetime(2026, 1, 1, tzinfo=UTC), text="pricing?", post_remote_id=POST,
                      in_reply_to=in_reply_to, raw={"comment_urn": cid})


def test_reply_posts_a_nested_comment(env, fake):
    parent = "urn:li:comment:(urn:li:activity:7100000000000000099,7100000000000000501)"
    created = {"actor": ORG, "commentUrn": "urn:li:comment:(urn:li:activity:7100000000000000099,7100000000000000999)",
               "id": "7100000000000000999", "object": POST, "parentComment": parent, "message": {"text": "Hi Ann"}}
    fake.on("POST", f"/rest/socialActions/{enc(parent)}/comments", 201, created, {"x-restli-id": "7100000000000000999"})
    ch = make_channel(env)
    published = ch.reply(comment_engagement(), "Hi Ann (DM sent)")
    assert published.remote_id == created["commentUrn"]
    assert published.url.startswith(f"https://www.linkedin.com/feed/update/{POST}/?commentUrn=")
    (request,) = fake.requests
    assert_clean_request(request)
    assert json.loads(request.body) == {"actor": ORG, "object": POST, "message": {"text": "Hi Ann (DM sent)"}, "parentComment": parent}


def test_reply_to_a_nested_reply_goes_under_the_top_level_comment(env, fake):
    parent = "urn:li:comment:(urn:li:activity:7100000000000000099,7100000000000000501)"
    fake.on("POST", f"/rest/socialActions/{enc(parent)}/comments", 201, {"commentUrn": "urn:li:comment:(x,1)"})
    make_channel(env).reply(comment_engagement("reply", in_reply_to=parent), "thanks")
    assert json.loads(fake.requests[0].body)["parentComment"] == parent


def test_reply_to_mentions_comments_on_the_mentioning_post(env, fake):
    fake.on("POST", f"/rest/socialActions/{enc('urn:li:share:7100000000000000777')}/comments", 201, {"commentUrn": "urn:li:comment:(a,1)"})
    comment = "urn:li:comment:(urn:li:activity:7100000000000000889,7100000000000000901)"
    fake.on("POST", f"/rest/socialActions/{enc(comment)}/comments", 201, {"commentUrn": "urn:li:comment:(a,2)"})
    ch = make_channel(env)
    post_mention = Engagement(external_id="urn:li:share:7100000000000000777", kind="mention", person=Person(handle="urn:li:person:eve555"),
                              occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                              url="https://www.linkedin.com/feed/update/urn:li:share:7100000000000000777/")  # raw not kept by the core
    ch.reply(post_mention, "Thanks Eve!")
    assert json.loads(fake.requests[0].body) == {"actor": ORG, "object": "urn:li:share:7100000000000000777", "message": {"text": "Thanks Eve!"}}
    comment_mention = Engagement(external_id=comment, kind="mention", person=Person(handle="urn:li:person:fay666"),
                                 occurred_at=datetime(2026, 1, 1, tzinfo=UTC), raw={"source_post": "urn:li:share:7100000000000000888"})
    ch.reply(comment_mention, "Happy to show you")
    assert json.loads(fake.requests[1].body)["parentComment"] == comment
    assert json.loads(fake.requests[1].body)["object"] == "urn:li:share:7100000000000000888"


def test_reply_to_a_reaction_is_not_allowed(env, fake):
    like = Engagement(external_id="urn:li:reaction:(urn:li:person:a,urn:li:share:1)", kind="like",
                      person=Person(handle="urn:li:person:a"), occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                      post_remote_id=POST)
    with pytest.raises(ReplyNotAllowed) as info:
        make_channel(env).reply(like, "thanks")
    assert info.value.url == f"https://www.linkedin.com/feed/update/{POST}/"
    assert fake.requests == []


def test_member_without_w_member_social_cannot_reply(env, fake):
    ch = make_channel(env, author=MEMBER, scopes=["openid", "profile"])
    with pytest.raises(ReplyNotAllowed, match="w_member_social") as info:
        ch.reply(comment_engagement(), "hi")
    assert info.value.url == f"https://www.linkedin.com/feed/update/{POST}/"
    assert fake.requests == []


# --- metrics --------------------------------------------------------------------------------


def test_organization_metrics(env, fake):
    fake.on("GET", "/rest/organizationalEntityShareStatistics", 200, fixture("share_statistics.json"))
    (metrics,) = make_channel(env).fetch_metrics([POST])
    assert (metrics.remote_id, metrics.impressions, metrics.reach, metrics.clicks, metrics.likes, metrics.replies, metrics.reposts) == (
        POST, 1210, 840, 27, 12, 4, 3)
    (request,) = fake.requests
    assert f"organizationalEntity={enc(ORG)}&shares=List({enc(POST)})" in request.url
    assert fake.query(request)["q"] == "organizationalEntity"


def test_member_metrics_with_post_analytics_scope(env, fake):
    counts = {"IMPRESSION": 500, "MEMBERS_REACHED": 320, "RESHARE": 2, "REACTION": 17, "COMMENT": 5}

    def answer(request):
        metric = fake.query(request)["queryType"]
        return {"elements": [{"count": counts[metric], "metricType": {"com.linkedin.adsexternalapi.memberanalytics.v1.CreatorPostAnalyticsMetricTypeV1": metric}, "entity": {"share": POST}}]}

    fake.on("GET", "/rest/memberCreatorPostAnalytics", 200, answer)
    ch = make_channel(env, author=MEMBER, scopes="w_member_social,r_member_postAnalytics")
    (metrics,) = ch.fetch_metrics([POST])
    assert (metrics.impressions, metrics.reach, metrics.reposts, metrics.likes, metrics.replies, metrics.clicks) == (500, 320, 2, 17, 5, None)
    assert f"entity=(share:{enc(POST)})" in fake.requests[0].url


def test_member_metrics_without_scope_are_empty_without_a_request(env, fake):
    assert make_channel(env, author=MEMBER, scopes=["w_member_social"]).fetch_metrics([POST]) == []
    assert fake.requests == []


# --- capabilities and check -----------------------------------------------------------------


def test_capabilities_by_author_type_and_scopes(env):
    assert make_channel(env).capabilities().names() == ["publish", "engagements", "reply", "metrics"]
    assert make_channel(env, scopes=["w_organization_social"]).capabilities().names() == ["publish", "reply"]
    assert make_channel(env, author=MEMBER).capabilities().names() == ["publish", "reply"]
    assert make_channel(env, author=MEMBER, scopes=["w_member_social", "r_member_social"]).capabilities().names() == ["publish", "engagements", "reply"]
    assert make_channel(env, author="bob").capabilities().names() == []


def test_check_organization_page(env, fake):
    fake.on("GET", "/rest/organizations/2414183", 200, {"id": 2414183, "localizedName": "Acme Corp", "vanityName": "acme"})
    result = make_channel(env, scopes=["w_organization_social", "r_organization_social"]).check()
    assert result.ok and result.identity == f"Acme Corp ({ORG})"
    assert result.capabilities.names() == ["publish", "engagements", "reply"]
    assert "cannot metrics: needs scope rw_organization_admin" in result.notes
    assert_clean_request(fake.requests[0])


def test_check_member_names_missing_scopes(env, fake):
    fake.on("GET", "/v2/userinfo", 200, {"sub": "Zx9_abc", "name": "Ann Lee", "given_name": "Ann", "family_name": "Lee"})
    result = make_channel(env, author=MEMBER, scopes=["openid", "profile", "w_member_social"]).check()
    assert result.ok and result.identity == f"Ann Lee ({MEMBER})"
    assert result.notes[0] == "member account; can: publish, reply"
    assert any(n.startswith("cannot engagements: needs scope r_member_social (restricted") for n in result.notes)
    assert "cannot metrics: needs scope r_member_postAnalytics" in result.notes


def test_check_with_a_bad_token_is_not_ok(env, fake):
    fake.on("GET", "/v2/userinfo", 401, {"status": 401, "code": "EXPIRED_ACCESS_TOKEN", "message": "The token used in the request has expired"})
    result = make_channel(env, author=MEMBER).check()
    assert not result.ok and "EXPIRED_ACCESS_TOKEN" in result.notes[0]


# --- connect and refresh --------------------------------------------------------------------


def run_connect(ch, answer):
    """Run connect in a thread; ``answer(auth_query)`` returns the callback query to send."""
    lines: list[str] = []
    seen = threading.Event()

    def echo(line):
        lines.append(line)
        if line.startswith("Open this URL"):
            seen.set()

    errors: list[BaseException] = []

    def target():
        try:
            ch.connect(echo)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            errors.append(e)

    thread = threading.Thread(target=target)
    thread.start()
    assert seen.wait(10)
    url = lines[-1].split(": ", 1)[1]
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    response = requests.get(query["redirect_uri"], params=answer(query), timeout=10)
    thread.join(10)
    return url, query, response, lines, errors


def test_connect_runs_the_loopback_flow_and_keeps_the_refresh_token(env, fake):
    token_body = {"access_token": "AQV-new-access", "expires_in": 5184000, "refresh_token": REFRESH,
                  "refresh_token_expires_in": 31536000, "scope": "r_organization_social,rw_organization_admin,w_organization_social"}
    fake.on("POST", "/oauth/v2/accessToken", 200, token_body)
    ch = make_channel(env, access_token=None, client_id="86abcde", client_secret={"env": "LINKEDIN_CLIENT_SECRET"})
    ch.open_browser = False
    url, query, response, lines, errors = run_connect(ch, lambda q: {"code": "AQTcode", "state": q["state"]})
    assert errors == [] and response.status_code == 200
    assert url.startswith("https://www.linkedin.com/oauth/v2/authorization?")
    assert query["client_id"] == "86abcde" and query["response_type"] == "code"
    assert query["scope"] == "w_organization_social r_organization_social rw_organization_admin"
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", query["redirect_uri"])
    assert CLIENT_SECRET not in url and len(query["state"]) >= 20
    (exchange,) = fake.calls("POST", "/oauth/v2/accessToken")
    form = parse_qs(exchange.body)
    assert form == {"grant_type": ["authorization_code"], "code": ["AQTcode"], "redirect_uri": [query["redirect_uri"]],
                    "client_id": ["86abcde"], "client_secret": [CLIENT_SECRET]}
    stored = load_tokens(ch.account.workspace.state_dir, "acme-li")
    assert stored["access_token"] == "AQV-new-access" and stored["refresh_token"] == REFRESH
    assert stored["scopes"] == ["r_organization_social", "rw_organization_admin", "w_organization_social"]
    assert abs(stored["expires_at"] - (time.time() + 5184000)) < 60
    path = token_file(ch.account.workspace.state_dir, "acme-li")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any(str(path) in line for line in lines)
    assert not any(s in line for line in lines for s in (*SECRETS, "AQV-new-access", "AQTcode"))


def test_connect_refuses_a_wrong_state(env, fake):
    ch = make_channel(env, access_token=None, client_id="86abcde", client_secret={"env": "LINKEDIN_CLIENT_SECRET"})
    ch.open_browser = False
    *_, errors = run_connect(ch, lambda q: {"code": "AQTcode", "state": "forged"})
    assert isinstance(errors[0], AuthError) and "state" in str(errors[0])
    assert fake.calls("POST", "/oauth/v2/accessToken") == []


def test_connect_reports_a_denied_authorization(env, fake):
    ch = make_channel(env, access_token=None, client_id="86abcde", client_secret={"env": "LINKEDIN_CLIENT_SECRET"})
    ch.open_browser = False
    *_, errors = run_connect(ch, lambda q: {"error": "user_cancelled_authorize", "error_description": "The user cancelled the authorization", "state": q["state"]})
    assert isinstance(errors[0], AuthError) and "cancelled" in str(errors[0])


def test_connect_gives_up_after_its_timeout(env, fake):
    ch = make_channel(env, access_token=None, client_id="86abcde", client_secret={"env": "LINKEDIN_CLIENT_SECRET"})
    ch.open_browser = False
    ch.connect_timeout = 0.2
    with pytest.raises(AuthError, match="no answer from LinkedIn's authorization page within 0.2s"):
        ch.connect(lambda line: None)
    assert fake.requests == []


def test_connect_needs_client_credentials(env):
    with pytest.raises(AuthError, match="client_id and client_secret"):
        make_channel(env, access_token=None).connect(print)


def stored_channel(env, **tokens):
    ch = make_channel(env, access_token=None, client_id="86abcde", client_secret={"env": "LINKEDIN_CLIENT_SECRET"})
    save_tokens(ch.account.workspace.state_dir, "acme-li", {"access_token": TOKEN, "refresh_token": REFRESH,
                                                             "scopes": ["w_organization_social"], **tokens})
    return ch


def test_an_expired_token_is_refreshed_once_before_the_request(env, fake):
    fake.on("POST", "/oauth/v2/accessToken", 200, {"access_token": "AQV-refreshed", "expires_in": 5184000,
                                                    "refresh_token": "AQX-rotated", "refresh_token_expires_in": 30000000})
    fake.on("POST", "/rest/posts", 201, None, {"x-restli-id": "urn:li:share:9"})
    ch = stored_channel(env, expires_at=int(time.time()) - 10)
    ch.publish("x")
    refresh, post = fake.requests
    assert parse_qs(refresh.body) == {"grant_type": ["refresh_token"], "refresh_token": [REFRESH],
                                      "client_id": ["86abcde"], "client_secret": [CLIENT_SECRET]}
    assert post.headers["Authorization"] == "Bearer AQV-refreshed"
    stored = load_tokens(ch.account.workspace.state_dir, "acme-li")
    assert stored["access_token"] == "AQV-refreshed" and stored["refresh_token"] == "AQX-rotated"
    assert stored["scopes"] == ["w_organization_social"]  # kept from the first grant


def test_a_failed_refresh_is_an_auth_error_without_secrets(env, fake):
    fake.on("POST", "/oauth/v2/accessToken", 400, {"error": "invalid_grant", "error_description": f"refresh token {REFRESH} expired"})
    ch = stored_channel(env, expires_at=int(time.time()) - 10)
    with pytest.raises(AuthError, match="invalid_grant|expired") as info:
        ch.publish("x")
    assert_no_secret(info.value)
    with pytest.raises(AuthError, match="channels connect acme-li"):
        ch.publish("x")  # one attempt only
    assert len(fake.calls("POST", "/oauth/v2/accessToken")) == 1
    assert fake.calls("POST", "/rest/posts") == []


def test_a_401_with_a_stored_token_refreshes_and_retries_once(env, fake):
    fake.on("POST", "/oauth/v2/accessToken", 200, {"access_token": "AQV-refreshed", "expires_in": 60000})
    fake.on("GET", "/rest/organizations/2414183", 401, {"status": 401, "code": "REVOKED_ACCESS_TOKEN", "message": "revoked"}, repeat=False)
    fake.on("GET", "/rest/organizations/2414183", 200, {"localizedName": "Acme Corp"})
    ch = stored_channel(env, expires_at=int(time.time()) + 3600)
    result = ch.check()
    assert result.ok and result.identity.startswith("Acme Corp")
    first, _, second = fake.requests
    assert first.headers["Authorization"] == f"Bearer {TOKEN}" and second.headers["Authorization"] == "Bearer AQV-refreshed"
    assert "access token valid until" in result.notes[-1]
