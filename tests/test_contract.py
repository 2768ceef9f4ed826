"""The contract kit for channel authors: it passes on good channels and catches broken ones."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from socialsell.errors import ConfigError
from socialsell.plugins.channel import (
    AuthError,
    Capabilities,
    Metrics,
    RateLimited,
    ReplyNotAllowed,
    TransientError,
)
from socialsell.plugins.manager import build_plugin_manager, channel_types
from socialsell.testing import (
    ChannelContract,
    account_secrets,
    check_attributes,
    check_construction,
    check_engagement_arrives_once,
    check_fault,
    check_find_recent_posts,
    check_first_fetch,
    check_metrics,
    check_old_cursor_replays,
    check_publish,
    check_reply,
    check_share,
    check_timeout_after_send,
    check_validate,
    make_account,
)

pytest_plugins = ["pytester"]

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
TOKEN = "s3cr3t-contract-token"


# --- the sandbox channel --------------------------------------------------------------------


class SandboxNetwork:
    """Makes things happen on the sandbox's timeline through its own test doors."""

    def __init__(self, channel) -> None:
        self.channel = channel

    def engage(self, remote_id: str, kind: str, handle: str, text: str | None) -> None:
        self.channel.inject(post_id=remote_id, kind=kind, handle=handle, text=text)

    def fail_next(self, kind: str) -> None:
        self.channel.queue_fault(kind)  # the sandbox fails its next publish

    def say(self, handle: str, text: str) -> str:
        return self.channel.say(handle=handle, text=text)  # `socialsell sandbox say`


class TestSandboxChannel(ChannelContract):
    lazy_modules = ("socialsell_sandbox.audience",)

    @pytest.fixture
    def channel(self, tmp_path, monkeypatch, pm):
        monkeypatch.setenv("SANDBOX_CONTRACT_TOKEN", TOKEN)
        account = make_account(tmp_path, channel="sandbox", name="contract", token={"env": "SANDBOX_CONTRACT_TOKEN"})
        return channel_types(pm)["sandbox"](account)

    @pytest.fixture
    def network(self, channel):
        return SandboxNetwork(channel)


# --- the example channel, loaded as `socialsell --plugins-dir docs/examples` loads it ----------


@pytest.fixture
def echo_class():
    return channel_types(build_plugin_manager(plugins_dir=EXAMPLES))["echo"]


@pytest.fixture
def echo_account(tmp_path, monkeypatch):
    monkeypatch.setenv("ECHO_TOKEN", TOKEN)
    return make_account(tmp_path, channel="echo", name="echo", token={"env": "ECHO_TOKEN"})


def echo_network(channel) -> Any:
    """The example's in-memory network behind ``channel`` (its engage and fail_next are the kit's)."""
    base = next(c for c in type(channel).__mro__ if c.__name__ == "EchoChannel")
    return base.networks.setdefault(channel.account.name, sys.modules[base.__module__].EchoNetwork())


class TestEchoChannel(ChannelContract):
    @pytest.fixture
    def channel(self, echo_class, echo_account):
        echo_class.networks.clear()
        return echo_class(echo_account)

    @pytest.fixture
    def network(self, channel):
        return echo_network(channel)


def test_the_example_channel_needs_its_token(echo_class, tmp_path):
    account = make_account(tmp_path, channel="echo", name="echo", token={"env": "ECHO_TOKEN_UNSET"})
    with pytest.raises(AuthError, match="no token"):
        echo_class(account).publish("hello")


# --- the helpers ----------------------------------------------------------------------------


def test_make_account_refuses_a_raw_secret_like_the_config(tmp_path):
    with pytest.raises(ConfigError, match="a reference, not the secret itself"):
        make_account(tmp_path, channel="x", token=TOKEN)


def test_secrets_are_the_resolved_secret_settings_only(tmp_path, monkeypatch):
    monkeypatch.setenv("A_TOKEN", TOKEN)
    (tmp_path / "key.txt").write_text("file-held-key\n")
    (tmp_path / "key.txt").chmod(0o600)  # a secret file others can read is refused
    account = make_account(tmp_path, channel="x", name="brand", token={"env": "A_TOKEN"},
                           api_key={"file": "key.txt"}, handle="@brand", missing={"env": "NOT_SET"})
    assert account_secrets(account) == [TOKEN, "file-held-key"]


# --- the kit catches broken channels ----------------------------------------------------------


class RepeatsEngagements:
    def fetch_engagements(self, cursor, posts):
        engagements, _ = super().fetch_engagements(cursor, posts)
        return engagements, cursor  # the cursor never moves on


class KeepsPositionInTheObject:
    def fetch_engagements(self, cursor, posts):
        engagements, new = super().fetch_engagements(getattr(self, "position", None), posts)
        self.position = new  # an old cursor can no longer replay what a crash lost
        return engagements, new


class IntegerCursor:
    def fetch_engagements(self, cursor, posts):
        engagements, new = super().fetch_engagements(None if cursor is None else str(cursor), posts)
        return engagements, int(new)


class NaiveEngagementTimes:
    def fetch_engagements(self, cursor, posts):
        engagements, new = super().fetch_engagements(cursor, posts)
        return [dataclasses.replace(e, occurred_at=e.occurred_at.replace(tzinfo=None)) for e in engagements], new


#: a key the plugin reads by itself, past the config: the core cannot know it, so only the
#: plugin can keep it out of its errors (a secret resolved from the config is masked by the core)
SIGNING_KEY = "sig-contract-key-98765"


class LeaksTheToken:
    def publish(self, text, *, media=()):
        try:
            return super().publish(text, media=media)
        except AuthError as e:
            raise AuthError(f"{e} (sent X-Signature: {SIGNING_KEY})") from None


def test_a_token_from_the_config_in_a_channel_error_is_masked_by_the_core(echo_class, echo_account):
    channel = echo_class(echo_account)
    token = account_secrets(echo_account)[0]
    error = AuthError(f"refused (sent Authorization: Bearer {token}, token={token})")
    assert token not in str(error) and token not in repr(error)
    check_fault(channel, echo_network(channel), "auth", account_secrets(echo_account))


class MissesItsOwnPosts:
    def find_recent_posts(self, since):
        return []


class HidesTheLostResponse:
    def publish(self, text, *, media=()):
        try:
            return super().publish(text, media=media)
        except TransientError as e:
            raise TransientError(str(e)) from None  # maybe_delivered=False: the core would post twice


class RetriesAtANaiveTime:
    def publish(self, text, *, media=()):
        try:
            return super().publish(text, media=media)
        except RateLimited as e:
            raise RateLimited(str(e), retry_at=datetime.now()) from None


class LetsRawErrorsOut:
    def publish(self, text, *, media=()):
        raise ValueError("HTTP 500 from the network")


class ClaimsMoreThanItSupports:
    def capabilities(self):
        return Capabilities(publish=True, engagements=True, reply=True, metrics=True)


class ConnectsWhenBuilt:
    armed = False  # the test's own construction succeeds; the kit's construction connects

    def __init__(self, account):
        super().__init__(account)
        if self.armed:
            socket.create_connection(("echo.invalid", 443), timeout=0.01)


class AcceptsAnyLength:
    def validate(self, text):
        return []


class RefusesReplyWithoutLink:
    def reply(self, engagement, text):
        raise ReplyNotAllowed("echo: replies are off for this account")


class CountsBackwards:
    supports = Capabilities(publish=True, engagements=True, reply=True, metrics=True)

    def fetch_metrics(self, remote_ids):
        return [Metrics(remote_id=rid, impressions=10, likes=-1) for rid in remote_ids]


class RepostsWithoutATrace:
    share_modes = ("repost", "link")

    def share(self, target, text, *, mode):
        if mode == "repost":  # goes out, but find_recent_posts cannot tell it shares the post
            return self.publish(f"RT {target.remote_id}")
        return super().share(target, text, mode=mode)


BROKEN = [
    (RepeatsEngagements, lambda ch, net, sec: check_engagement_arrives_once(ch, net), "gave .* again"),
    (KeepsPositionInTheObject, lambda ch, net, sec: check_old_cursor_replays(ch, net), "would be lost"),
    (IntegerCursor, lambda ch, net, sec: check_first_fetch(ch), "stores the cursor as text"),
    (NaiveEngagementTimes, lambda ch, net, sec: check_engagement_arrives_once(ch, net), "an aware datetime"),
    (LeaksTheToken, lambda ch, net, sec: check_fault(ch, net, "auth", [*sec, SIGNING_KEY]), "contains secret #2"),
    (MissesItsOwnPosts, lambda ch, net, sec: check_find_recent_posts(ch), "would publish it twice"),
    (HidesTheLostResponse, lambda ch, net, sec: check_timeout_after_send(ch, net, sec), "maybe_delivered=False"),
    (RetriesAtANaiveTime, lambda ch, net, sec: check_fault(ch, net, "rate_limit", sec), "retry_at="),
    (LetsRawErrorsOut, lambda ch, net, sec: check_publish(ch), "raises only the errors of socialsell.api"),
    (ClaimsMoreThanItSupports, lambda ch, net, sec: check_attributes(ch), r"claims \['metrics'\]"),
    (ConnectsWhenBuilt, lambda ch, net, sec: check_construction(ch), "made a network call"),
    (AcceptsAnyLength, lambda ch, net, sec: check_validate(ch), "empty text must be refused"),
    (RefusesReplyWithoutLink, lambda ch, net, sec: check_reply(ch, net), "url=None"),
    (CountsBackwards, lambda ch, net, sec: check_metrics(ch), "likes=-1"),
    (RepostsWithoutATrace, lambda ch, net, sec: check_share(ch), "would share it twice"),
]


@pytest.mark.parametrize(("bug", "check", "message"), BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_the_kit_catches(bug, check, message, echo_class, echo_account):
    echo_class.networks.clear()
    broken = type(f"Broken{bug.__name__}", (bug, echo_class), {})
    channel = broken(echo_account)
    broken.armed = True
    with pytest.raises(AssertionError, match=message):
        check(channel, echo_network(channel), account_secrets(echo_account))


def test_the_kit_passes_the_unbroken_example_through_the_same_calls(echo_class, echo_account):
    for _, check, _ in BROKEN:
        echo_class.networks.clear()
        channel = echo_class(echo_account)
        with contextlib.suppress(pytest.skip.Exception):  # metrics: the example does not read them
            check(channel, echo_network(channel), account_secrets(echo_account))


# --- the kit as a plugin author runs it -----------------------------------------------------


def _author_tests(body: str) -> str:
    return textwrap.dedent(f"""
        import importlib.util, os, sys
        import pytest
        from socialsell.testing import ChannelContract, Secrets, account_secrets, make_account

        spec = importlib.util.spec_from_file_location("echo_channel_copy", {str(EXAMPLES / "echo_channel.py")!r})
        echo = importlib.util.module_from_spec(spec)
        sys.modules["echo_channel_copy"] = echo
        spec.loader.exec_module(echo)
        """) + textwrap.dedent(body)


def test_a_plugin_author_sees_what_their_channel_did_wrong(pytester):
    heavy = pytester.makepyfile(heavylib="LOADED = True")
    assert heavy.exists()
    pytester.makepyfile(_author_tests("""
        class LeakyChannel(echo.EchoChannel):
            def __init__(self, account):
                super().__init__(account)
                import heavylib  # noqa: F401  (should wait for the first request)

            def fetch_engagements(self, cursor, posts):
                engagements, _ = super().fetch_engagements(cursor, posts)
                return engagements, cursor

            def publish(self, text, *, media=()):
                try:
                    return super().publish(text, media=media)
                except echo.AuthError as e:  # a key read past the config: the core cannot mask it
                    raise echo.AuthError(f"{e}: signature {os.environ['ECHO_SIGNING_KEY']} refused") from None

        class TestLeakyChannel(ChannelContract):
            lazy_modules = ("heavylib",)

            @pytest.fixture
            def channel(self, tmp_path, monkeypatch):
                monkeypatch.setenv("ECHO_TOKEN", "tok-123456")
                monkeypatch.setenv("ECHO_SIGNING_KEY", "sig-author-5555")
                echo.EchoChannel.networks.clear()
                return LeakyChannel(make_account(tmp_path, channel="echo", token={"env": "ECHO_TOKEN"}))

            @pytest.fixture
            def secrets(self, channel):
                return Secrets([*account_secrets(channel.account), os.environ["ECHO_SIGNING_KEY"]])

            @pytest.fixture
            def network(self, channel):
                return channel.networks.setdefault(channel.account.name, echo.EchoNetwork())
        """))
    result = pytester.runpytest("-rfs")
    result.assert_outcomes(passed=11, failed=3, skipped=2)
    result.stdout.fnmatch_lines([
        "E * AssertionError: LeakyChannel(account) imported [[]'heavylib'[]]; import network libraries at first use*",
        "E * AssertionError: *gave [[]('e2', 'comment')[]] again; the new cursor must cover everything returned with it",
        "E * AssertionError: *raised AuthError whose str(error) contains secret #2 of the `secrets` fixture*",
        "FAILED *::TestLeakyChannel::test_construction_is_offline_and_lazy*",  # pytest may append " - <message>"
        "FAILED *::TestLeakyChannel::test_engagement_arrives_once*",  # pytest may append " - <message>"
        "FAILED *::TestLeakyChannel::test_auth_failure_raises_auth_error*",  # pytest may append " - <message>"
    ])
    assert "sig-author-5555" not in result.stdout.str()  # the report does not print the secret either


def test_checks_without_a_network_skip_with_the_reason(pytester):
    pytester.makepyfile(_author_tests("""
        class TestNoNetwork(ChannelContract):
            @pytest.fixture
            def channel(self, tmp_path, monkeypatch):
                monkeypatch.setenv("ECHO_TOKEN", "tok-123456")
                return echo.EchoChannel(make_account(tmp_path, channel="echo", token={"env": "ECHO_TOKEN"}))

        class FaultsOnly:
            def __init__(self, channel):
                self.channel = channel
            def engage(self, *args):
                raise NotImplementedError("this emulator cannot fake people")
            def fail_next(self, kind):
                self.channel.networks.setdefault(self.channel.account.name, echo.EchoNetwork()).fail_next(kind)

        class TestFaultsOnly(TestNoNetwork):
            @pytest.fixture
            def network(self, channel):
                return FaultsOnly(channel)
        """))
    result = pytester.runpytest("-rfs")
    result.stdout.fnmatch_lines([
        "SKIPPED *no `network` fixture: define one with engage() to run this check",
        "SKIPPED *no `network` fixture: define one with fail_next() to run this check",
        "SKIPPED *network.engage(*) is not implemented: this emulator cannot fake people",
    ])
    # no network: 3 engagement checks + 4 error checks skip; faults only: 3 engagement checks skip;
    # metrics and search skip in both (the example does neither); sharing needs no network
    result.assert_outcomes(passed=7 + 11, skipped=9 + 5)


# --- likes and reposts, the time limit, the socket-level offline check ----------------------


class TestEchoChannelWithLikes(TestEchoChannel):
    """A channel tested with likes: nothing is written, so no text is sent or compared."""

    engagement_kind = "like"
    engagement_handle = "@a_fan"


class DropsLikes:
    def fetch_engagements(self, cursor, posts):
        engagements, new = super().fetch_engagements(cursor, posts)
        return [e for e in engagements if e.kind != "like"], new


class InventsTextForReposts:
    def fetch_engagements(self, cursor, posts):
        engagements, new = super().fetch_engagements(cursor, posts)
        return [dataclasses.replace(e, text="(reposted)") if e.kind == "repost" else e for e in engagements], new


def test_likes_and_reposts_are_checked_without_text(echo_class, echo_account):
    echo_class.networks.clear()
    broken = type("BrokenDropsLikes", (DropsLikes, echo_class), {})(echo_account)
    with pytest.raises(AssertionError, match=r"returned it 0 times.*\(a like or repost: its text is not compared\)"):
        check_engagement_arrives_once(broken, echo_network(broken), kind="like", handle="@a_fan")
    # a text on a repost is the channel's business: the kit does not compare it
    echo_class.networks.clear()
    reposting = type("Reposts", (InventsTextForReposts, echo_class), {})(echo_account)
    check_engagement_arrives_once(reposting, echo_network(reposting), kind="repost", handle="@a_fan")
    check_old_cursor_replays(reposting, echo_network(reposting), kind="repost", handle="@a_fan")
    network = echo_network(reposting)
    assert [r["text"] for r in network.reactions if r["kind"] == "repost"] == [None, None]  # sent without text


def test_a_check_that_hangs_on_a_rate_limit_fails_after_its_time_limit(pytester):
    pytester.makepyfile(_author_tests("""
        import time

        class PatientChannel(echo.EchoChannel):
            def publish(self, text, *, media=()):
                network = self.networks.get(self.account.name)
                if network is not None and network.faults[:1] == ["rate_limit"]:
                    time.sleep(60)  # what a client library does with a 429: wait for the reset
                return super().publish(text, media=media)

        class TestPatientChannel(ChannelContract):
            check_timeout = 0.5

            @pytest.fixture
            def channel(self, tmp_path, monkeypatch):
                monkeypatch.setenv("ECHO_TOKEN", "tok-123456")
                echo.EchoChannel.networks.clear()
                return PatientChannel(make_account(tmp_path, channel="echo", token={"env": "ECHO_TOKEN"}))

            @pytest.fixture
            def network(self, channel):
                return channel.networks.setdefault(channel.account.name, echo.EchoNetwork())
        """))
    result = pytester.runpytest("-rf", "-k", "test_rate_limit_raises or test_publish_returns")
    result.assert_outcomes(passed=1, failed=1, deselected=14)
    result.stdout.fnmatch_lines([
        "E *CheckTimedOut: TestPatientChannel.test_rate_limit_raises_rate_limited did not finish within 0.5 s. "
        "The likely cause: a client library waiting out a rate limit*",
    ])
    assert result.duration < 30  # 60 s of sleep were cut short (a bound on the hang, not a speed test)


class ConnectsToALocalServerUncounted:
    """Opens a real TCP connection in its constructor and never counts it in request_count."""

    armed = False
    port = 0

    def __init__(self, account):
        super().__init__(account)
        if self.armed:
            sock = socket.socket()
            try:
                sock.connect(("127.0.0.1", self.port))
            finally:
                sock.close()


def test_construction_is_checked_at_the_socket_level(echo_class, echo_account):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        broken = type("BrokenUncounted", (ConnectsToALocalServerUncounted, echo_class), {"port": server.getsockname()[1]})
        channel = broken(echo_account)
        broken.armed = True
        assert channel.request_count == 0
        with pytest.raises(AssertionError, match=r"made a network call \(socket.connect\)"):
            check_construction(channel)
    finally:
        server.close()


def test_the_pytest_plugin_gives_its_fixtures_with_no_import(pytester):
    """Registered through the pytest11 entry point: a plugin's tests use the fixtures as they are."""
    from importlib.metadata import entry_points

    assert [ep.value for ep in entry_points(group="pytest11") if ep.name == "socialsell"] == \
        ["socialsell.testing.pytest_plugin"]
    pytester.makepyfile(test_fixtures='''
        def test_fixtures(socialsell_account, socialsell_secret, socialsell_plugins, socialsell_channel_types):
            ref = socialsell_secret("KIT_TOKEN", "t0k3n-kit")
            account = socialsell_account(channel="sandbox", name="s1", token=ref, seed="7")
            assert ref == {"env": "KIT_TOKEN"} and account.setting("token") == "t0k3n-kit"
            assert (account.name, account.channel, account.settings["seed"]) == ("s1", "sandbox", "7")
            assert socialsell_plugins.get_plugin("sandbox") is not None
            assert {"sandbox", "x", "linkedin", "bluesky"} <= set(socialsell_channel_types)
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")  # a new process: the entry point loads it
    result.assert_outcomes(passed=1)
