"""The contract test kit for channel plugin authors.

Subclass :class:`ChannelContract` in your plugin's tests and give it two fixtures: ``channel``
(your channel on a faked network: ``responses``, a local emulator, an in-memory dict) and
``network`` (an object the kit uses to make things happen on that fake network)::

    import pytest
    from socialsell.testing import ChannelContract, make_account

    class TestMastodonChannel(ChannelContract):
        lazy_modules = ("mastodon",)        # must not be imported by constructing the channel

        @pytest.fixture
        def channel(self, tmp_path, monkeypatch):
            monkeypatch.setenv("MASTODON_TOKEN", "t0k3n-for-tests")
            account = make_account(tmp_path, channel="mastodon", token={"env": "MASTODON_TOKEN"})
            return MastodonChannel(account)

        @pytest.fixture
        def network(self, channel):
            return FakeMastodon(channel)    # engage(remote_id, kind, handle, text), fail_next(kind)

``network.engage(remote_id, kind, handle, text)`` makes someone react to one of our posts;
``network.fail_next(kind)`` makes the next request fail with ``"rate_limit"``,
``"server_error"``, ``"timeout_after_send"`` (the request went through, its response is lost)
or ``"auth"``. A method that raises :class:`NotImplementedError` (or is missing) skips the
checks that need it, with the reason. Without a ``network`` fixture those checks skip too.

Every check is also a plain function (``check_...``) that raises :class:`AssertionError`
with a message saying what the channel did wrong, so it can run outside pytest classes. A check
that does not apply (a capability the channel lacks, a door the fake network does not have)
skips: under pytest it is a skipped test, elsewhere it raises :class:`CheckSkipped`.

The plain functions need no pytest (a plain install of socialsell has none): this module never
imports it. ``ChannelContract`` does, and is loaded from :mod:`socialsell.testing.contract` at
first use (``pip install socialsell[testing]`` brings pytest).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from socialsell.loop.publishing import (
    same_post_text_key,  # the very comparison the core's reconcile makes
)
from socialsell.plugins.channel import (
    ENGAGEMENT_KINDS,
    SHARE_MODES,
    AuthError,
    Capabilities,
    Channel,
    ChannelError,
    Engagement,
    Found,
    Metrics,
    OurPost,
    Person,
    Published,
    RateLimited,
    Rejected,
    RemotePost,
    ReplyNotAllowed,
    SearchPage,
    SearchQuery,
    SharedPost,
    TransientError,
)
from socialsell.settings import is_secret_key
from socialsell.workspace import Account, build_workspace

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.testing.contract import ChannelContract

__all__ = [
    "ChannelContract",
    "CheckSkipped",
    "CheckTimedOut",
    "DEFAULT_CHECK_TIMEOUT",
    "DEFAULT_ENGAGEMENT_HANDLE",
    "DEFAULT_ENGAGEMENT_KIND",
    "TEXTLESS_KINDS",
    "time_limit",
    "engagement_text_for",
    "Secrets",
    "account_secrets",
    "make_account",
    "check_attributes",
    "check_construction",
    "check_validate",
    "check_publish",
    "check_find_recent_posts",
    "check_share",
    "check_search",
    "check_first_fetch",
    "check_engagement_arrives_once",
    "check_old_cursor_replays",
    "check_fault",
    "check_timeout_after_send",
    "check_reply",
    "check_metrics",
]

Clock = Callable[[], datetime]
#: faults ``network.fail_next`` is asked for, and the error the channel must raise for each
FAULT_ERRORS: dict[str, type[ChannelError]] = {
    "rate_limit": RateLimited,
    "server_error": TransientError,
    "auth": AuthError,
}
METRIC_COUNTS = ("impressions", "reach", "likes", "replies", "reposts", "quotes", "clicks", "profile_clicks")
#: the engagement the kit makes on the network unless told otherwise (``ChannelContract.engagement_kind``)
DEFAULT_ENGAGEMENT_KIND = "comment"
#: who makes it (``ChannelContract.engagement_handle``)
DEFAULT_ENGAGEMENT_HANDLE = "@contract_kit"
#: what they write, for the kinds that carry text (``ChannelContract.engagement_text``)
DEFAULT_ENGAGEMENT_TEXT = "Contract kit: what does pricing look like?"
#: kinds that carry no text: the kit asks the network for them with ``text=None`` and does not compare text
TEXTLESS_KINDS = ("like", "repost", "follow")
#: seconds one check may take (``ChannelContract.check_timeout``)
DEFAULT_CHECK_TIMEOUT = 30.0


def __getattr__(name: str) -> Any:
    # ChannelContract needs pytest; the plain checks must import without it (a plain install has none)
    if name == "ChannelContract":
        from socialsell.testing.contract import ChannelContract  # noqa: PLC0415 - needs pytest, which a plain install lacks

        return ChannelContract
    raise AttributeError(f"module 'socialsell.testing' has no attribute {name!r}")


class CheckSkipped(Exception):
    """A check does not apply to this channel (outside pytest; under pytest the test is skipped)."""


class CheckTimedOut(AssertionError):
    """A check ran past its time limit (:func:`time_limit`)."""


def _skip(reason: str) -> None:
    pytest = sys.modules.get("pytest")  # only when the caller runs under pytest: never imported here
    if pytest is not None:
        pytest.skip(reason)
    raise CheckSkipped(reason)


def engagement_text_for(kind: str, text: str | None = DEFAULT_ENGAGEMENT_TEXT) -> str | None:
    """The text the kit's engagement carries: None for a like, a repost or a follow."""
    return None if kind in TEXTLESS_KINDS else text


@contextlib.contextmanager
def time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """Fail ``what`` with :class:`CheckTimedOut` after ``seconds`` (None or 0: no limit).

    The limit interrupts the check (``SIGALRM``), so a client library sleeping until a rate
    limit resets fails that one check instead of blocking the run. It applies in the main
    thread of a Unix process (where pytest runs tests); elsewhere there is no limit.
    """
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise CheckTimedOut(
            f"{what} did not finish within {seconds:g} s. The likely cause: a client library waiting out a "
            "rate limit (sleeping on a 429 until the reset, as tweepy's wait_on_rate_limit does) or a request "
            "without a timeout. Raise RateLimited(retry_at=...) instead of waiting, and give every request "
            "the channel's `timeout`; raise check_timeout (seconds) only if the check is merely slow"
        )

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- helpers for plugin tests ---------------------------------------------------------------


def make_account(tmp_path: str | Path, channel: str = "x", name: str = "acct", **settings: Any) -> Account:
    """An :class:`Account` in a throw-away workspace under ``tmp_path``, as ``[[accounts]]`` makes it.

    Secrets are references, exactly as in ``socialsell.toml``:
    ``make_account(tmp_path, "mastodon", token={"env": "MASTODON_TOKEN"})``; a raw secret
    string is refused with the same :class:`~socialsell.errors.ConfigError` the config gives.
    """
    path = Path(tmp_path) / "socialsell.toml"
    workspace = build_workspace(path, {"accounts": [{"name": name, "channel": channel, **settings}]})
    return workspace.accounts[name]


class Secrets(list[str]):
    """Strings that must never appear in an error; its repr hides them, so a failing check's
    traceback does not print what it protects."""

    def __repr__(self) -> str:
        return f"<{len(self)} secret value(s), hidden>"


def account_secrets(account: Account) -> Secrets:
    """The resolved values of an account's secret settings: every setting given as a reference
    (``{env = ...}``, ``{keyring = ...}``, ``{file = ...}``) or named like a secret (``token``,
    ``key``...). Other settings (the account's name, the channel type) may appear in messages."""
    values = Secrets()
    for key, raw in account.settings.items():
        if isinstance(raw, dict) or is_secret_key(key):
            value = account.setting(key)
            if isinstance(value, str) and len(value) >= 4:  # shorter ones would match by chance
                values.append(value)
    return values


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None


def _name(channel: Channel) -> str:
    return type(channel).__name__


def _unique_text(what: str = "post") -> str:
    # unique per call: a network refuses the same text twice (DuplicateContent)
    return f"socialsell contract check: {what} {uuid.uuid4().hex[:10]}"


def _same_handle(a: str | None, b: str) -> bool:
    return a is not None and a.lstrip("@").casefold() == b.lstrip("@").casefold()


def _act(network: Any, method: str, *args: Any) -> Any:
    """Ask the fake network to do something; skip the check when it cannot."""
    if network is None:
        _skip(f"no `network` fixture: define one with {method}() to run this check")
    action = getattr(network, method, None)
    if action is None:
        _skip(f"the `network` fixture ({type(network).__name__}) has no {method}()")
    try:
        return action(*args)
    except NotImplementedError as e:
        why = f": {e}" if str(e) else ""
        _skip(f"network.{method}{args!r} is not implemented{why}")


def _check_no_secret(error: BaseException, secrets: Iterable[str], doing: str) -> None:
    __tracebackhide__ = True  # its arguments hold the secret: keep them out of the report
    for i, secret in enumerate(secrets, 1):
        for shown, text in (("str(error)", str(error)), ("repr(error)", repr(error))):
            if secret in text:  # no `assert`: pytest would print both sides
                raise AssertionError(
                    f"{doing} raised {type(error).__name__} whose {shown} contains secret #{i} of the "
                    f"`secrets` fixture ({len(secret)} characters, not shown here): error messages are "
                    "logged and shown by `socialsell status`, so they must never hold a token or key"
                )


def _check_published(channel: Channel, result: Any, doing: str) -> Published:
    assert isinstance(result, Published), (
        f"{_name(channel)}.{doing} returned {result!r}; it must return socialsell.api.Published "
        "(or raise a ChannelError)"
    )
    assert isinstance(result.remote_id, str) and result.remote_id, (
        f"{_name(channel)}.{doing} returned Published with remote_id={result.remote_id!r}; it must be "
        "the network's id as a non-empty string (the core stores it to find the post again)"
    )
    assert result.url is None or isinstance(result.url, str), (
        f"{_name(channel)}.{doing} returned Published with url={result.url!r}: None or a string"
    )
    assert result.published_at is None or _aware(result.published_at), (
        f"{_name(channel)}.{doing} returned published_at={result.published_at!r}: None or an aware "
        "datetime (the core stores times in UTC; a naive one is ambiguous)"
    )
    return result


def _call(channel: Channel, doing: str, call: Callable[[], Any]) -> Any:
    """Run a channel method that must succeed; a non-ChannelError is a contract failure."""
    try:
        return call()
    except (ChannelError, AssertionError):  # AssertionError: the kit's own time limit
        raise
    except Exception as e:
        raise AssertionError(
            f"{_name(channel)}.{doing} raised {type(e).__module__}.{type(e).__name__}: {e}; a channel "
            "raises only the errors of socialsell.api (ChannelError subclasses), which the core knows "
            "how to handle"
        ) from e


def _publish(channel: Channel, what: str = "post") -> tuple[str, Published]:
    text = channel.prepare(_unique_text(what))
    problems = channel.validate(text)
    assert not problems, f"{_name(channel)}.validate() refuses the kit's short text {text!r}: {problems}"
    published = _check_published(channel, _call(channel, "publish()", lambda: channel.publish(text)), "publish()")
    return text, published


def _our_posts(published: Published, now: Clock) -> list[OurPost]:
    return [OurPost(remote_id=published.remote_id, published_at=published.published_at or now(), delivery_id=1)]


def _fetch(channel: Channel, cursor: str | None, posts: Sequence[OurPost]) -> tuple[list[Engagement], str | None]:
    doing = f"fetch_engagements({cursor!r}, posts)"
    result = _call(channel, doing, lambda: channel.fetch_engagements(cursor, posts))
    assert isinstance(result, tuple) and len(result) == 2, (
        f"{_name(channel)}.{doing} returned {result!r}; it must return a tuple (engagements, new_cursor)"
    )
    engagements, new_cursor = result
    assert isinstance(engagements, list), (
        f"{_name(channel)}.{doing} returned {type(engagements).__name__} as engagements; a list is expected"
    )
    assert new_cursor is None or isinstance(new_cursor, str), (
        f"{_name(channel)}.{doing} returned the cursor {new_cursor!r} ({type(new_cursor).__name__}); "
        "the core stores the cursor as text, so it must be a str (json.dumps a structure) or None"
    )
    for e in engagements:
        _check_engagement(channel, e, doing)
    keys = [(e.external_id, e.kind) for e in engagements]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    assert not repeated, f"{_name(channel)}.{doing} returned the same engagements twice in one batch: {repeated}"
    return engagements, new_cursor


def _check_engagement(channel: Channel, e: Any, doing: str) -> None:
    who = f"{_name(channel)}.{doing} returned"
    assert isinstance(e, Engagement), f"{who} {e!r}; every item must be a socialsell.api.Engagement"
    assert isinstance(e.external_id, str) and e.external_id, (
        f"{who} an engagement with external_id={e.external_id!r}: the network's id as a non-empty "
        "string ((account, external_id, kind) is how the core ingests it only once)"
    )
    assert e.kind in ENGAGEMENT_KINDS, f"{who} an engagement of kind {e.kind!r}: one of {ENGAGEMENT_KINDS}"
    assert _aware(e.occurred_at), (
        f"{who} engagement {e.external_id!r} with occurred_at={e.occurred_at!r}: an aware datetime "
        "(with a time zone) is required"
    )
    assert isinstance(e.person, Person) and isinstance(e.person.handle, str) and e.person.handle, (
        f"{who} engagement {e.external_id!r} with person={e.person!r}: a Person with a non-empty handle"
    )


def _matching(engagements: Sequence[Engagement], remote_id: str, kind: str, handle: str, text: str | None) -> list[Engagement]:
    # a like or a repost carries no text: its text is not compared
    return [e for e in engagements if e.kind == kind and _same_handle(e.person.handle, handle)
            and (text is None or e.text == text) and e.post_remote_id == remote_id]


def _engaged(channel: Channel, network: Any, now: Clock, kind: str, handle: str,
             text: str | None = DEFAULT_ENGAGEMENT_TEXT) -> dict[str, Any]:
    """Publish, read the engagements once, make someone engage, read again: the shared setup."""
    if not channel.capabilities().engagements:
        _skip(f"{_name(channel)} does not read engagements (capabilities().engagements is False)")
    _, published = _publish(channel, "engagement target")
    posts = _our_posts(published, now)
    before, cursor0 = _fetch(channel, None, posts)
    text = engagement_text_for(kind, text)
    _act(network, "engage", published.remote_id, kind, handle, text)
    after, cursor1 = _fetch(channel, cursor0, posts)
    return {"published": published, "posts": posts, "before": before, "cursor0": cursor0,
            "after": after, "cursor1": cursor1, "text": text}


# --- the checks -----------------------------------------------------------------------------


def check_attributes(channel: Channel) -> None:
    """Class attributes describe the channel type; ``capabilities()`` narrows ``supports``."""
    cls = type(channel)
    assert isinstance(channel, Channel), f"{cls.__name__} must subclass socialsell.api.Channel"
    assert isinstance(cls.name, str) and cls.name, (
        f"{cls.__name__}.name is {cls.name!r}: set it to the name the channel is registered under"
    )
    assert isinstance(cls.max_length, int) and cls.max_length > 0, (
        f"{cls.__name__}.max_length is {cls.max_length!r}: the most characters a post may have, above 0"
    )
    assert isinstance(cls.supports, Capabilities), (
        f"{cls.__name__}.supports is {cls.supports!r}: a socialsell.api.Capabilities"
    )
    caps = channel.capabilities()
    assert isinstance(caps, Capabilities), f"{cls.__name__}.capabilities() returned {caps!r}: a Capabilities"
    beyond = [n for n in caps.names() if not getattr(cls.supports, n)]
    assert not beyond, (
        f"{cls.__name__}.capabilities() claims {beyond}, which the class's `supports` does not: an "
        "account can do at most what its channel type supports"
    )
    modes = cls.share_modes
    assert isinstance(modes, tuple) and modes and set(modes) <= set(SHARE_MODES), (
        f"{cls.__name__}.share_modes is {modes!r}: a tuple of {', '.join(SHARE_MODES)} (docs/plugins.md, Sharing)"
    )
    assert cls.share is not Channel.share or set(modes) <= {"link"}, (
        f"{cls.__name__}.share_modes claims {modes!r} but the class does not implement share(): only "
        "'link' works through publish"
    )


def _lazy(name: str, lazy_modules: Sequence[str]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in lazy_modules)


def check_construction(channel: Channel, lazy_modules: Sequence[str] = ()) -> None:
    """Constructing the channel is cheap: no network call, none of ``lazy_modules`` imported.

    The module defining the channel must not import them at its top either (invariant 7:
    read-only commands never pay for a network library).
    """
    cls = type(channel)
    module = sys.modules.get(cls.__module__)
    if module is not None and lazy_modules:
        top = sorted(
            name for name, value in vars(module).items()
            if (isinstance(value, ModuleType) and _lazy(value.__name__, lazy_modules))
            or (not isinstance(value, ModuleType) and _lazy(getattr(value, "__module__", None) or "", lazy_modules))
        )
        assert not top, (
            f"{cls.__module__} imports {top} from {list(lazy_modules)} at module top; import them inside "
            "the methods that use them, so commands that never touch the network do not load them"
        )
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if _lazy(name, lazy_modules)}
    connections: list[str] = []

    def refuse(what: str) -> Callable[..., Any]:
        def guard(*args: Any, **kwargs: Any) -> Any:
            connections.append(what)
            raise OSError(f"socialsell contract kit: {what} while constructing the channel")
        return guard

    fresh: Channel | None = None
    failure: BaseException | None = None
    # the socket layer itself refuses to connect, resolve or send: whatever library the channel
    # uses (requests, httpx, a raw socket), not only what the channel counts in request_count
    guards = [(socket.socket, "connect"), (socket.socket, "connect_ex"), (socket.socket, "sendto"),
              (socket, "create_connection"), (socket, "getaddrinfo")]
    originals = [(owner, attr, getattr(owner, attr)) for owner, attr in guards]
    try:
        for owner, attr in guards:
            setattr(owner, attr, refuse(f"socket.{attr}"))
        try:
            fresh = cls(channel.account)
        except Exception as e:
            failure = e
    finally:
        for owner, attr, original in originals:
            setattr(owner, attr, original)
        imported = sorted(name for name in sys.modules if _lazy(name, lazy_modules))
        for name in imported:
            del sys.modules[name]
        sys.modules.update(saved)
        for name, mod in saved.items():  # the parent package's attribute points at the original again
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, mod)
    assert not connections, (
        f"{cls.__name__}(account) made a network call ({', '.join(connections)}); constructors must "
        "not touch the network (the core builds channels to validate posts, offline too)"
    )
    if failure is not None:
        raise AssertionError(f"{cls.__name__}(account) raised {type(failure).__name__}: {failure}") from failure
    assert not imported, (
        f"{cls.__name__}(account) imported {imported}; import network libraries at first use "
        "(inside the method that sends), not in the constructor"
    )
    assert fresh is not None and fresh.request_count == 0, (
        f"{cls.__name__}(account) counted {fresh.request_count if fresh else '?'} requests; a constructor makes none"
    )


def check_validate(channel: Channel) -> None:
    """Empty text and text over ``max_length`` (as ``measure`` counts) are refused; short text passes."""
    name = _name(channel)
    for empty in ("", "   "):
        problems = channel.validate(empty)
        assert isinstance(problems, list) and problems, (
            f"{name}.validate({empty!r}) returned {problems!r}; an empty text must be refused with a reason"
        )
    long = "a" * (channel.max_length + 1)
    while channel.measure(long) <= channel.max_length and len(long) < 64 * (channel.max_length + 1):
        long += long
    assert channel.measure(long) > channel.max_length, (
        f"{name}.measure() counts {len(long)} letters as {channel.measure(long)}, not over "
        f"max_length={channel.max_length}"
    )
    problems = channel.validate(long)
    assert isinstance(problems, list) and problems, (
        f"{name}.validate() accepted a text measured at {channel.measure(long)} characters, over "
        f"max_length={channel.max_length}; the network would refuse it after it was queued"
    )
    short = "Hello from socialsell" if channel.max_length >= 21 else "ok"
    problems = channel.validate(channel.prepare(short))
    assert problems == [], f"{name}.validate({short!r}) returned {problems!r}; a short text must pass"


def check_publish(channel: Channel) -> None:
    """``publish`` returns ``Published`` with a remote id; ``post_url`` is None or a string."""
    _, published = _publish(channel)
    url = channel.post_url(published.remote_id)
    assert url is None or isinstance(url, str), (
        f"{_name(channel)}.post_url({published.remote_id!r}) returned {url!r}: None or a string"
    )


def check_find_recent_posts(channel: Channel, now: Clock = _utcnow) -> None:
    """A published post is listed by ``find_recent_posts`` with its text, so the core can
    reconcile an unknown outcome (invariant 1) instead of posting twice."""
    since = now() - timedelta(minutes=2)
    text, published = _publish(channel)
    doing = f"find_recent_posts({since.isoformat()})"
    try:
        recent = _call(channel, doing, lambda: channel.find_recent_posts(since))
    except Rejected as e:
        _skip(f"{_name(channel)} cannot list recent posts ({e}): the core marks unknown outcomes "
                    "needs_attention instead of reconciling them")
    assert isinstance(recent, list) and all(isinstance(p, RemotePost) for p in recent), (
        f"{_name(channel)}.{doing} returned {recent!r}; a list of socialsell.api.RemotePost"
    )
    same_id = [p for p in recent if p.remote_id == published.remote_id]
    assert same_id, (
        f"{_name(channel)}.{doing} does not list the post just published ({published.remote_id!r}; "
        f"listed: {[p.remote_id for p in recent][:10]}); after a crash or a timeout the core could not "
        "tell that it went out, and would publish it twice"
    )
    assert same_post_text_key(same_id[0].text) == same_post_text_key(text), (
        f"{_name(channel)}.{doing} lists {published.remote_id!r} with the text {same_id[0].text!r}, "
        f"but {text!r} was published; the core matches by text (ignoring links, spaces and case)"
    )
    for p in recent:
        assert p.created_at is None or _aware(p.created_at), (
            f"{_name(channel)}.{doing} returned created_at={p.created_at!r} for {p.remote_id!r}: None or aware"
        )


def check_share(channel: Channel, now: Clock = _utcnow) -> None:
    """Each of ``share_modes`` shares a post this account published and returns ``Published``;
    a repost or a quote is then listed by ``find_recent_posts`` with ``shares`` naming the post it
    shares, so the core can reconcile a share whose outcome is unknown instead of sharing twice
    (docs/advocacy.md)."""
    modes = tuple(channel.share_modes)
    unknown = [m for m in modes if m not in SHARE_MODES]
    assert not unknown, f"{_name(channel)}.share_modes lists {unknown}: the modes are {', '.join(SHARE_MODES)}"
    assert modes, f"{_name(channel)}.share_modes is empty: keep the default ('link',), which shares through publish"
    for mode in modes:
        since = now() - timedelta(minutes=2)
        _, brand = _publish(channel, f"shared {mode}")
        target = SharedPost(remote_id=brand.remote_id, url=brand.url or f"https://example.com/{brand.remote_id}")
        words = "" if mode == "repost" else channel.prepare(
            _unique_text("share") + (f" {target.url}" if mode == "link" else ""))
        doing = f"share(<post {brand.remote_id!r}>, text, mode={mode!r})"
        shared = _check_published(channel, _call(channel, doing, lambda t=target, w=words, m=mode: channel.share(t, w, mode=m)),
                                  doing)
        assert shared.remote_id != brand.remote_id or mode == "repost", (
            f"{_name(channel)}.{doing} returned the shared post's own id {brand.remote_id!r}; a {mode} is a new post")
        if mode == "link":
            continue  # a new post like any other: check_find_recent_posts covers it
        listing = f"find_recent_posts({since.isoformat()})"
        try:
            recent = _call(channel, listing, lambda s=since: channel.find_recent_posts(s))
        except Rejected as e:
            _skip(f"{_name(channel)} cannot list recent posts ({e}): a {mode} with an unknown outcome goes to "
                  "needs_attention instead of being reconciled")
        assert any(p.shares == brand.remote_id for p in recent), (
            f"{_name(channel)}.{listing} lists no post with shares={brand.remote_id!r} after a {mode} of it "
            f"(listed: {[(p.remote_id, p.shares) for p in recent][:10]}); after a crash or a timeout the core "
            "could not tell that the share went out, and would share it twice"
        )


def _search(channel: Channel, query: SearchQuery, cursor: str | None, limit: int) -> SearchPage:
    doing = f"search(<{' '.join(query.terms())}>, {cursor!r}, limit={limit})"
    page = _call(channel, doing, lambda: channel.search(query, cursor, limit=limit))
    who = f"{_name(channel)}.{doing} returned"
    assert isinstance(page, SearchPage), f"{who} {page!r}; a socialsell.api.SearchPage"
    assert page.cursor is None or isinstance(page.cursor, str), (
        f"{who} the cursor {page.cursor!r}; the core stores it as text with the matches: a str or None")
    assert isinstance(page.reads, int) and not isinstance(page.reads, bool) and page.reads >= 0, (
        f"{who} reads={page.reads!r}; what the network bills the page as, an int >= 0 (the budget counts it)")
    assert len(page.found) <= limit, f"{who} {len(page.found)} posts for limit={limit}: the budget asked for no more"
    for f in page.found:
        assert isinstance(f, Found), f"{who} {f!r}; every item must be a socialsell.api.Found"
        assert isinstance(f.external_id, str) and f.external_id, f"{who} a Found without its external_id"
        assert isinstance(f.person, Person) and f.person.handle, f"{who} a Found without its person's handle"
        assert _aware(f.occurred_at), f"{who} occurred_at={f.occurred_at!r}: an aware datetime"
    return page


def check_search(channel: Channel, network: Any) -> None:
    """A public post someone makes is found by a search for a word in it, well-formed; a post
    made after it is found from the cursor that search returned (nothing falls between two
    runs of a stream; one found again is fine: the core stores each post once)."""
    if not channel.capabilities().search:
        _skip(f"{_name(channel)} does not search (capabilities().search is False)")
    word = f"kit{uuid.uuid4().hex[:8]}"
    query = SearchQuery(keywords=(word,))
    limit = max(channel.search_page_min, min(channel.search_page_max, 10))
    first = _act(network, "say", DEFAULT_ENGAGEMENT_HANDLE, f"Has anyone tried {word} for social selling?")
    page = _search(channel, query, None, limit)
    ours = [f for f in page.found if word in f.text.lower() and _same_handle(f.person.handle, DEFAULT_ENGAGEMENT_HANDLE)]
    assert ours, (
        f"{_name(channel)}.search for {word!r} did not find the post network.say made ({first!r}; found: "
        f"{[f.text for f in page.found][:5]}); a listening stream would never see it")
    second = _act(network, "say", DEFAULT_ENGAGEMENT_HANDLE, f"Still looking at {word}, any advice?")
    later = _search(channel, query, page.cursor, limit)
    assert any("still looking" in f.text.lower() for f in later.found), (
        f"{_name(channel)}.search from the cursor {page.cursor!r} did not find the post made after it "
        f"({second!r}; found: {[f.text for f in later.found][:5]}); the next run of a stream would lose it")


def check_first_fetch(channel: Channel, now: Clock = _utcnow) -> None:
    """``fetch_engagements(None, posts)`` returns ``(list, cursor)``, the cursor text or None."""
    if not channel.capabilities().engagements:
        _skip(f"{_name(channel)} does not read engagements (capabilities().engagements is False)")
    _, published = _publish(channel)
    _fetch(channel, None, _our_posts(published, now))


def check_engagement_arrives_once(channel: Channel, network: Any, now: Clock = _utcnow,
                                  kind: str = DEFAULT_ENGAGEMENT_KIND, handle: str = DEFAULT_ENGAGEMENT_HANDLE,
                                  text: str | None = DEFAULT_ENGAGEMENT_TEXT) -> None:
    """An engagement made on the network comes back once: in the next batch, never after it."""
    s = _engaged(channel, network, now, kind, handle, text)
    remote_id, text = s["published"].remote_id, s["text"]
    found = _matching(s["after"], remote_id, kind, handle, text)
    assert len(found) == 1, (
        f"after network.engage({remote_id!r}, {kind!r}, {handle!r}, {text!r}), fetch_engagements "
        f"returned it {len(found)} times (batch: {[(e.kind, e.person.handle, e.text, e.post_remote_id) for e in s['after']]}); "
        "it must come back exactly once, with that kind, handle, post_remote_id"
        + (" and text" if text is not None else " (a like or repost: its text is not compared)")
    )
    seen = {(e.external_id, e.kind) for e in s["before"] + s["after"]}
    again, cursor2 = _fetch(channel, s["cursor1"], s["posts"])
    repeated = sorted(k for k in {(e.external_id, e.kind) for e in again} if k in seen)
    assert not repeated, (
        f"{_name(channel)}.fetch_engagements(cursor, posts) with the cursor it had just returned "
        f"gave {repeated} again; the new cursor must cover everything returned with it"
    )
    again2, _ = _fetch(channel, cursor2, s["posts"])
    repeated = sorted(k for k in {(e.external_id, e.kind) for e in again2} if k in seen)
    assert not repeated, f"{_name(channel)}.fetch_engagements() returned {repeated} again two calls later"


def check_old_cursor_replays(channel: Channel, network: Any, now: Clock = _utcnow,
                             kind: str = DEFAULT_ENGAGEMENT_KIND, handle: str = DEFAULT_ENGAGEMENT_HANDLE,
                                  text: str | None = DEFAULT_ENGAGEMENT_TEXT) -> None:
    """The old cursor gives the same engagements again: the core relies on it after a crash
    between the fetch and the commit (invariant 2)."""
    s = _engaged(channel, network, now, kind, handle, text)
    found = _matching(s["after"], s["published"].remote_id, kind, handle, s["text"])
    assert found, "the engagement made on the network did not come back (see test_engagement_arrives_once)"
    _fetch(channel, s["cursor1"], s["posts"])  # reading on must not consume anything for the old cursor
    replay, _ = _fetch(channel, s["cursor0"], s["posts"])
    keys = {(e.external_id, e.kind) for e in replay}
    assert (found[0].external_id, found[0].kind) in keys, (
        f"{_name(channel)}.fetch_engagements({s['cursor0']!r}, posts) with the cursor from before the "
        f"engagement no longer returns {found[0].external_id!r}; if the core crashed before committing "
        "it, the engagement would be lost. Keep all state in the cursor, not in the channel object"
    )


def check_fault(channel: Channel, network: Any, fault: str, secrets: Sequence[str] = (),
                now: Clock = _utcnow) -> ChannelError:
    """After ``network.fail_next(fault)``, ``publish`` raises the error the core acts on."""
    expected = FAULT_ERRORS[fault]
    text = channel.prepare(_unique_text(f"fault {fault}"))
    _act(network, "fail_next", fault)
    doing = f"publish() after network.fail_next({fault!r})"
    try:
        result = _call(channel, doing, lambda: channel.publish(text))
    except ChannelError as e:
        error = e
    else:
        raise AssertionError(f"{_name(channel)}.{doing} returned {result!r} instead of raising {expected.__name__}")
    assert isinstance(error, expected), (
        f"{_name(channel)}.{doing} raised {type(error).__name__}: {error}; expected {expected.__name__}, "
        "so the core reacts right (see the error table in docs/plugins.md)"
    )
    _check_no_secret(error, secrets, f"{_name(channel)}.{doing}")
    if isinstance(error, RateLimited):
        moment = now()
        assert _aware(error.retry_at) and error.retry_at > moment, (
            f"{_name(channel)}.{doing} raised RateLimited with retry_at={error.retry_at!r}; it must be an "
            f"aware datetime after now ({moment.isoformat()}), from the network's reset header"
        )
    return error


def check_timeout_after_send(channel: Channel, network: Any, secrets: Sequence[str] = (),
                             now: Clock = _utcnow) -> None:
    """A timeout after the request was sent raises ``TransientError(maybe_delivered=True)``,
    or the channel settles it itself and returns the post it finds."""
    since = now() - timedelta(minutes=2)
    text = channel.prepare(_unique_text("timeout after send"))
    _act(network, "fail_next", "timeout_after_send")
    doing = "publish() after network.fail_next('timeout_after_send')"
    error: ChannelError | None = None
    try:
        result = _call(channel, doing, lambda: channel.publish(text))
    except ChannelError as e:
        error = e
    if error is not None:  # checked outside the except block: no chained traceback shows its message
        _check_no_secret(error, secrets, f"{_name(channel)}.{doing}")
        assert isinstance(error, TransientError), (
            f"{_name(channel)}.{doing} raised {type(error).__name__}: {error}; a lost response is a TransientError"
        )
        assert error.maybe_delivered, (
            f"{_name(channel)}.{doing} raised TransientError with maybe_delivered=False; the request was "
            "sent, so the post may be out: say maybe_delivered=True or the core retries and posts twice"
        )
        delivered = None
    else:
        delivered = _check_published(channel, result, doing)

    try:
        recent = channel.find_recent_posts(since)
    except Rejected:
        return  # cannot list: the core marks the delivery needs_attention, never a double post
    listed = [p.remote_id for p in recent if same_post_text_key(p.text) == same_post_text_key(text)]
    assert listed, (
        f"after {doing}, find_recent_posts() does not list the post: either the fake network did not "
        "deliver it (a timeout *after send* must) or the core cannot reconcile it"
    )
    if delivered is not None:
        assert delivered.remote_id in listed, (
            f"{_name(channel)}.{doing} returned {delivered.remote_id!r} but the post on the network is {listed}"
        )


def check_reply(channel: Channel, network: Any, now: Clock = _utcnow,
                kind: str = DEFAULT_ENGAGEMENT_KIND, handle: str = DEFAULT_ENGAGEMENT_HANDLE,
                                  text: str | None = DEFAULT_ENGAGEMENT_TEXT) -> None:
    """Replying to an engagement returns ``Published`` or raises ``ReplyNotAllowed`` with a url."""
    if not channel.capabilities().reply:
        _skip(f"{_name(channel)} does not reply (capabilities().reply is False)")
    s = _engaged(channel, network, now, kind, handle, text)
    found = _matching(s["after"], s["published"].remote_id, kind, handle, s["text"])
    assert found, "the engagement made on the network did not come back (see test_engagement_arrives_once)"
    doing = f"reply(<engagement {found[0].external_id!r}>, text)"
    try:
        result = _call(channel, doing, lambda: channel.reply(found[0], "Thanks! Let's talk: I'll DM you."))
    except ReplyNotAllowed as e:
        assert isinstance(e.url, str) and e.url, (
            f"{_name(channel)}.{doing} raised ReplyNotAllowed with url={e.url!r}; give the link where the "
            "rep can reply by hand"
        )
        return
    _check_published(channel, result, doing)


def check_metrics(channel: Channel) -> None:
    """``fetch_metrics([remote_id])`` gives that post's ``Metrics``, counts non-negative or None."""
    if not channel.capabilities().metrics:
        _skip(f"{_name(channel)} does not read metrics (capabilities().metrics is False)")
    _, published = _publish(channel, "metrics")
    doing = f"fetch_metrics([{published.remote_id!r}])"
    result = _call(channel, doing, lambda: channel.fetch_metrics([published.remote_id]))
    assert isinstance(result, list) and all(isinstance(m, Metrics) for m in result), (
        f"{_name(channel)}.{doing} returned {result!r}; a list of socialsell.api.Metrics"
    )
    ours = [m for m in result if m.remote_id == published.remote_id]
    strangers = [m.remote_id for m in result if m.remote_id != published.remote_id]
    assert not strangers, f"{_name(channel)}.{doing} returned metrics for posts not asked for: {strangers}"
    assert len(ours) == 1, f"{_name(channel)}.{doing} returned {len(ours)} Metrics for that post; one is expected"
    names = {f.name for f in fields(Metrics)}
    for count in METRIC_COUNTS:
        assert count in names
        value = getattr(ours[0], count)
        assert value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0), (
            f"{_name(channel)}.{doing} returned {count}={value!r}: a count >= 0, or None when the network does not say"
        )


