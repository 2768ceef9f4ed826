"""The interface between the core and a social network, and the errors the core acts on.

A channel plugin subclasses :class:`Channel` and registers it through the
``register_channels`` hook. The core never imports a network library: it calls these
methods and reacts to the error classes below.

Error taxonomy (what the core does):

================  =========================================================================
error             core's reaction
================  =========================================================================
TransientError    retry with exponential backoff and jitter, up to a limit. If the request
                  may have reached the network (``maybe_delivered``), a publish is not
                  retried blindly: it is reconciled with :meth:`Channel.find_recent_posts`.
RateLimited       no call to this account before ``retry_at``
AuthError         pause the account, tell the user (``status`` and ``account_paused``)
Rejected          the post itself is wrong: fail that delivery with the network's message
================  =========================================================================
"""

from __future__ import annotations

import abc
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from socialsell.clock import utcnow
from socialsell.redact import redact

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.settings import Setting
    from socialsell.workspace import Account

ENGAGEMENT_KINDS = ("reply", "comment", "mention", "quote", "repost", "like", "follow", "message")
#: how a rep's account can pass on a brand post (docs/advocacy.md), most faithful first: a plain
#: repost, a quote (the rep's words above the brand post), a new post carrying the post's link
SHARE_MODES = ("repost", "quote", "link")
#: the kind of an engagement made from a listening match (a public post found by a search, not a
#: reaction to us): never returned by ``fetch_engagements``, handed to :meth:`Channel.reply`
SIGNAL_KIND = "signal"


class MediaFile(str):
    """A file attached to a post, as ``publish(text, media=...)`` receives it: the file's path
    (it *is* that path, a ``str``, so a channel written before alt text existed works unchanged)
    and ``alt``, its alternative text for people who cannot see it ("" when none was given)."""

    alt: str

    def __new__(cls, path: str, alt: str = "") -> MediaFile:
        file = super().__new__(cls, path)
        file.alt = alt
        return file

    def __repr__(self) -> str:
        return f"MediaFile({str(self)!r}, alt={self.alt!r})"


# --- errors ---------------------------------------------------------------------------------


class ChannelError(Exception):
    """Base of every error a channel raises. ``str(error)`` never contains a secret: the
    message is redacted here (a network may echo a request's credentials in its error)."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(redact(message))
        self.status = status


class TransientError(ChannelError):
    """The network failed in a way that may pass: 5xx, timeout, connection reset.

    :param maybe_delivered: True when the request may have been processed (read timeout, reset
        after sending, 5xx on a write). The core then reconciles instead of re-sending.
    """

    def __init__(self, message: str, *, status: int | None = None, maybe_delivered: bool = False):
        super().__init__(message, status=status)
        self.maybe_delivered = maybe_delivered


class RateLimited(ChannelError):
    """Too many requests. Nothing may be sent to this account before ``retry_at`` (UTC)."""

    def __init__(self, message: str, *, retry_at: datetime, status: int | None = 429):
        super().__init__(message, status=status)
        self.retry_at = retry_at


class AuthError(ChannelError):
    """Credentials are missing, expired or revoked: the account is paused until fixed."""


class Rejected(ChannelError):
    """The network refused this request for what it is (too long, duplicate, not allowed)."""


class DuplicateContent(Rejected):
    """The network says this text was already posted. On a retry it means "probably sent".

    :param existing_id: the remote id of the existing post, when the network names it.
    """

    def __init__(self, message: str, *, existing_id: str | None = None, status: int | None = None):
        super().__init__(message, status=status)
        self.existing_id = existing_id


class ReplyNotAllowed(Rejected):
    """The network does not let this account reply here; ``url`` is where to reply by hand."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        super().__init__(message, status=status)
        self.url = url


# --- values exchanged with the core ---------------------------------------------------------


@dataclass(frozen=True)
class Capabilities:
    """What an account can do on its network with the access it has."""

    publish: bool = True
    engagements: bool = False
    reply: bool = False
    metrics: bool = False
    #: search the network's public posts with a cursor (:meth:`Channel.search`), for listening
    search: bool = False

    def names(self) -> list[str]:
        return [name for name in ("publish", "engagements", "reply", "metrics", "search") if getattr(self, name)]


@dataclass(frozen=True)
class Published:
    """The outcome of a successful publish or reply."""

    remote_id: str
    url: str | None = None
    published_at: datetime | None = None


@dataclass(frozen=True)
class RemotePost:
    """One of our own posts as the network shows it (used to reconcile unknown outcomes)."""

    remote_id: str
    text: str
    created_at: datetime | None = None
    url: str | None = None
    #: the remote id of the post this one reposts or quotes (a share), when it is one
    shares: str | None = None


@dataclass(frozen=True)
class SharedPost:
    """The brand post a rep's account shares (:meth:`Channel.share`).

    :param remote_id: its id on this account's network, for a repost or a quote; None when the
        brand published it on another network (only a link can be shared then).
    :param url: its public link, which a ``link`` share carries in its text.
    """

    remote_id: str | None
    url: str | None = None


@dataclass(frozen=True)
class OurPost:
    """One of our published posts, handed to :meth:`Channel.fetch_engagements`."""

    remote_id: str
    published_at: datetime
    delivery_id: int | None = None


@dataclass
class Person:
    """Who engaged, as the network describes them."""

    handle: str
    name: str | None = None
    external_id: str | None = None
    profile_url: str | None = None
    headline: str | None = None
    company: str | None = None
    location: str | None = None
    followers: int | None = None
    #: the network's verified badge, when it says (None: unknown)
    verified: bool | None = None
    #: the person's own description (X ``description``); ``headline`` stays the one-line title
    bio: str | None = None
    #: ``"person"`` or ``"organization"`` (a LinkedIn page), when the network says
    kind: str | None = None


@dataclass
class Engagement:
    """One reaction by one person, normalised.

    ``(account, external_id, kind)`` is unique: the same like seen twice is one engagement.
    ``post_remote_id`` names which of our posts it concerns (None for a bare mention).
    """

    external_id: str
    kind: str
    person: Person
    occurred_at: datetime
    text: str | None = None
    url: str | None = None
    post_remote_id: str | None = None
    in_reply_to: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Metrics:
    """Counters for one of our posts at one moment. None means the network did not say."""

    remote_id: str
    impressions: int | None = None
    reach: int | None = None
    likes: int | None = None
    replies: int | None = None
    reposts: int | None = None
    quotes: int | None = None
    clicks: int | None = None
    profile_clicks: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchQuery:
    """What a listening stream looks for (``[[listen]] query``, docs/listening.md).

    A post matches when it has any of the positive terms (a keyword as a whole word, a phrase, a
    hashtag, or a competitor handle it mentions or is written by), none of the exclusions, and is
    in one of the languages (any language when empty). Everything is compared case-insensitively.
    A channel turns this into its network's own query syntax; :meth:`matched_term` is the
    reference meaning, used by the core to say why a post matched.
    """

    keywords: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()  # without the ``#``
    competitors: tuple[str, ...] = ()  # handles without the ``@``
    exclude: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()  # ISO 639-1 codes: ``en``, ``de``

    def terms(self) -> list[str]:
        """Every positive term as written in a post: ``word``, ``"a phrase"``, ``#tag``, ``@handle``."""
        return ([*self.keywords, *(f'"{p}"' for p in self.phrases), *(f"#{h}" for h in self.hashtags),
                 *(f"@{c}" for c in self.competitors)])

    def matched_term(self, text: str | None, author: str | None = None, lang: str | None = None) -> str | None:
        """The first positive term ``text`` (written by ``author``) matches, as :meth:`terms` writes
        it, or None when it does not match the query (an exclusion, another language, no term)."""
        low = (text or "").lower()
        if self.languages and lang and lang.lower() not in self.languages:
            return None
        if any(_has_word(low, word.lower()) for word in self.exclude):
            return None
        who = (author or "").lower().lstrip("@")
        for word in self.keywords:
            if _has_word(low, word.lower()):
                return word
        for phrase in self.phrases:
            if phrase.lower() in low:
                return f'"{phrase}"'
        for tag in self.hashtags:
            if re.search(rf"(?<![\w#])#{re.escape(tag.lower())}(?!\w)", low):
                return f"#{tag}"
        for handle in self.competitors:
            if who == handle.lower() or re.search(rf"(?<![\w@])@{re.escape(handle.lower())}(?![\w.])", low):
                return f"@{handle}"
        return None


def _has_word(low: str, word: str) -> bool:
    return word in low and re.search(rf"(?<![\w#@]){re.escape(word)}(?!\w)", low) is not None


@dataclass
class Found:
    """One public post a search found (not addressed to us: the person may never have met us).

    ``external_id`` is the post's id on the network, unique per account: the core stores a post
    once however many streams or searches find it. ``thread_id`` names the conversation it
    belongs to (X ``conversation_id``, a Bluesky thread root), for "one reply per person and thread".
    """

    external_id: str
    person: Person
    text: str
    occurred_at: datetime
    url: str | None = None
    lang: str | None = None
    thread_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class SearchPage:
    """One page of search results and the cursor after it.

    :param found: the posts, newest first or oldest first (the core does not rely on the order).
    :param cursor: what to pass next time: the next page of this sweep, or (at its end) where the
        next sweep starts. Opaque to the core, stored with the matches in one transaction.
    :param reads: what the network bills this page as (X: posts returned); the core counts it
        against the stream's monthly budget.
    :param more: True when the network has another page right now (the core may ask again).
    """

    found: list[Found]
    cursor: str | None
    reads: int = 0
    more: bool = False


@dataclass
class CheckResult:
    """What ``socialsell channels check`` reports about an account."""

    ok: bool
    identity: str | None
    capabilities: Capabilities
    notes: list[str] = field(default_factory=list)


# --- the interface --------------------------------------------------------------------------


class Channel(abc.ABC):
    """A social network account that socialsell publishes to and reads engagements from.

    Subclasses set the class attributes and implement :meth:`publish`; the other methods
    have safe defaults that say the capability is missing. Constructors must be cheap and
    must not touch the network: the core builds channels for validation too.
    """

    #: the channel type's name, as registered (``x``, ``linkedin``...)
    name: ClassVar[str] = ""
    #: a human label
    label: ClassVar[str] = ""
    #: most characters a post may have, counted by :meth:`measure`
    max_length: ClassVar[int] = 3000
    #: what the channel type can do at best; :meth:`capabilities` narrows it per account
    supports: ClassVar[Capabilities] = Capabilities()
    #: media types a post may carry (``post new --media``), most files per post and biggest file;
    #: checked when the post is queued, so a file the network would refuse never waits in the queue
    media_types: ClassVar[frozenset[str]] = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
    max_media: ClassVar[int] = 4
    max_media_bytes: ClassVar[int] = 5 * 1024 * 1024
    #: seconds between engagement polls unless the account says otherwise
    default_poll_interval: ClassVar[int] = 300
    #: seconds every network request may take
    timeout: ClassVar[float] = 30.0
    #: how this network passes on another account's post (:data:`SHARE_MODES`), for a rep
    #: sharing a brand post; ``link`` (a new post with the link, through :meth:`publish`) works
    #: on every network, ``repost`` and ``quote`` need :meth:`share`
    share_modes: ClassVar[tuple[str, ...]] = ("link",)
    #: the keys an ``[[accounts]]`` table of this type may have besides the core's (``name``,
    #: ``channel``, ``poll_interval``...), checked when plugins load: an unknown key is refused
    #: with a did-you-mean. None (the default, as before settings were declared): any key passes
    settings: ClassVar[Sequence[Setting] | None] = None

    def __init__(self, account: Account):
        self.account = account
        #: HTTP requests made since the core last reset it (logged per poll, shown by ``status``)
        self.request_count = 0
        #: the time this channel reads (aware UTC); the core sets it to the App's clock, so a
        #: simulated network (the sandbox) and the tests follow the same time as the core
        self.clock: Callable[[], datetime] = utcnow

    @property
    def total_timeout(self) -> float:
        """The longest one publish may take, retries inside the client included (default: four
        request timeouts). The core holds its lease on a delivery longer than this, so a slow
        call is never mistaken for a dead one."""
        return self.timeout * 4

    # -- text ------------------------------------------------------------------------------

    def measure(self, text: str) -> int:
        """Length of ``text`` as this network counts it."""
        return len(text)

    def prepare(self, text: str) -> str:
        """The exact text to send (escaping the network needs). Counted by :meth:`validate`."""
        return text

    def readable(self, prepared: str) -> str:
        """What readers will see of ``prepared`` (the inverse of :meth:`prepare`): the core checks
        the brand guardrails on it at sending time."""
        return prepared

    def validate(self, text: str) -> list[str]:
        """Problems that would make the network refuse ``text``; empty when it is fine."""
        problems = []
        if not text.strip():
            problems.append("the text is empty")
        length = self.measure(text)
        if length > self.max_length:
            problems.append(
                f"{length} characters is over {self.label or self.name}'s limit of {self.max_length}"
            )
        return problems

    # -- account ---------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        """What this account can do, from its configuration (no network call)."""
        return self.supports

    def missing_credentials(self) -> str | None:
        """Why this account cannot call its network at all yet (no credentials configured, never
        connected), judged from local state only: no network call. None when nothing is missing.
        ``post new`` uses it to warn before a post waits on an account that can never send it."""
        return None

    def check(self) -> CheckResult:
        """Verify the credentials with the network and report the account's capabilities."""
        return CheckResult(ok=True, identity=None, capabilities=self.capabilities())

    def connect(self, echo: Any) -> None:
        """Run the interactive authorization flow and store the tokens.

        :param echo: a function that prints a line for the user.
        """
        raise Rejected(f"{self.label or self.name} needs no connection step")

    # -- publishing ------------------------------------------------------------------------

    @abc.abstractmethod
    def publish(self, text: str, *, media: Sequence[str] = ()) -> Published:
        """Publish ``text`` (already prepared and validated). Raise a :class:`ChannelError`.
        ``media``: :class:`MediaFile` paths (``.alt``: the alternative text, "" when none)."""

    def share(self, target: SharedPost, text: str, *, mode: str) -> Published:
        """Share ``target`` from this account in ``mode`` (one of :attr:`share_modes`).

        ``repost``: pass it on as it is (``text`` is empty); ``quote``: ``text`` (prepared,
        validated) above it; ``link``: ``text`` already carries the link, published as a new
        post (the default, through :meth:`publish`). Raise a :class:`ChannelError` as
        :meth:`publish` does. Reconciling an unknown outcome looks in
        :meth:`find_recent_posts` for a post whose ``shares`` is ``target.remote_id``.
        """
        if mode == "link":
            return self.publish(text)
        raise Rejected(f"{self.label or self.name} cannot {mode} a post (it can: {', '.join(self.share_modes)})")

    def find_recent_posts(self, since: datetime) -> list[RemotePost]:
        """Our own posts created at or after ``since``, newest first.

        Used after a crash or an ambiguous failure to learn whether a publish went out.
        A channel that cannot list its posts raises :class:`Rejected`; the core then marks
        the delivery ``needs_attention`` rather than risk posting twice.
        """
        raise Rejected(f"{self.label or self.name} cannot list recent posts")

    # -- engagements -----------------------------------------------------------------------

    def fetch_engagements(
        self, cursor: str | None, posts: Sequence[OurPost]
    ) -> tuple[list[Engagement], str | None]:
        """New engagements since ``cursor``, and the cursor that covers them.

        :param cursor: what the previous call returned (None the first time). Opaque to the core.
        :param posts: our posts still inside the account's engagement window.
        :return: the engagements, and the new cursor. The core stores both in one transaction.
        """
        return [], cursor

    # -- listening -------------------------------------------------------------------------

    #: the fewest and most results one search request may ask for (X: 10 to 100); the core asks
    #: for no more than the stream's monthly budget has left, and not at all below the minimum
    search_page_min: ClassVar[int] = 1
    search_page_max: ClassVar[int] = 100

    def query_problems(self, query: SearchQuery) -> list[str]:
        """Why this network cannot run ``query`` (too long, an operator it lacks); empty when it
        can. No network call: checked when the loop starts and by ``listen test``."""
        return []

    def search(self, query: SearchQuery, cursor: str | None, *, limit: int) -> SearchPage:
        """Public posts matching ``query`` that are newer than ``cursor`` (None: the network's
        recent window), at most ``limit`` of them (``search_page_min <= limit <= search_page_max``).

        A channel that can search says so in :attr:`supports` (``Capabilities(search=True)``); one
        that cannot keeps this default, which raises :class:`Rejected`.
        """
        raise Rejected(f"{self.label or self.name} cannot search")

    def reply(self, engagement: Engagement, text: str) -> Published:
        """Reply to ``engagement`` in public. Raise :class:`ReplyNotAllowed` with a URL if not allowed."""
        raise ReplyNotAllowed(f"{self.label or self.name} cannot reply from socialsell", url=engagement.url)

    def fetch_metrics(self, remote_ids: Sequence[str]) -> list[Metrics]:
        """Current counters for our posts ``remote_ids``."""
        return []

    def post_url(self, remote_id: str) -> str | None:
        """The public link of one of our posts."""
        return None

    def close(self) -> None:  # noqa: B027 - optional for subclasses
        """Release network resources (sessions)."""
