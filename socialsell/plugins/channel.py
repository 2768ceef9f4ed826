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

    def names(self) -> list[str]:
        return [name for name in ("publish", "engagements", "reply", "metrics") if getattr(self, name)]


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
