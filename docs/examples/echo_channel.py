"""An example channel plugin to copy: "echo", a network that lives in memory.

It is complete in the ways that matter to the core, and small enough to read in one sitting:

* ``publish`` / ``find_recent_posts``: the core reconciles an unknown outcome (a crash, a timeout
  after sending) by looking for the text among our recent posts, so the second must list what
  the first sent;
* ``fetch_engagements(cursor, posts)``: the cursor is a string (the core stores it as text) and
  *all* the reading position lives in it, never in the channel object, so the core can ask again
  with an old cursor after a crash and lose nothing;
* ``reply``; errors from ``socialsell.plugins.channel`` whose messages never hold the token.

Replace :class:`EchoNetwork` with your network's client (imported inside the methods that use
it, not at the top of the module) and keep the rest. Test it with the contract kit
(``socialsell.testing.ChannelContract``; see "Testing your channel" in docs/plugins.md).

Install it like any plugin (an entry point in the ``socialsell`` group), or drop this file in a
folder and run ``socialsell --plugins-dir FOLDER channels``. An account uses it with::

    [[accounts]]
    name = "echo"
    channel = "echo"
    token = {env = "ECHO_TOKEN"}
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from socialsell.api import (
    AuthError,
    Capabilities,
    Channel,
    Engagement,
    OurPost,
    Person,
    Published,
    RateLimited,
    RemotePost,
    TransientError,
    hookimpl,
    utcnow,
)

FAULTS = ("rate_limit", "server_error", "timeout_after_send", "auth")


class EchoNetwork:
    """The fake server: our posts, people's reactions, and faults queued by tests."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.reactions: list[dict[str, Any]] = []  # append-only: a cursor is an index into it
        self.faults: list[str] = []
        self.next_id = 1

    def new_id(self, prefix: str) -> str:
        self.next_id += 1
        return f"{prefix}{self.next_id - 1}"

    def engage(self, remote_id: str | None, kind: str, handle: str, text: str | None) -> str:
        """Someone reacts to one of our posts; returns the reaction's id."""
        reaction_id = self.new_id("e")
        self.reactions.append({"id": reaction_id, "post_id": remote_id, "kind": kind, "handle": handle,
                               "text": text, "at": utcnow().isoformat()})
        return reaction_id

    def fail_next(self, kind: str) -> None:
        """The next request fails: ``rate_limit``, ``server_error``, ``timeout_after_send`` or ``auth``."""
        if kind not in FAULTS:
            raise NotImplementedError(f"echo cannot simulate {kind!r}")
        self.faults.append(kind)


class EchoChannel(Channel):
    name = "echo"
    label = "Echo"
    max_length = 280
    supports = Capabilities(publish=True, engagements=True, reply=True)
    default_poll_interval = 60
    timeout = 5.0

    #: one network per account name, shared by every channel object of that account (like a real
    #: network outlives the worker that talks to it)
    networks: ClassVar[dict[str, EchoNetwork]] = {}

    def __init__(self, account):
        # cheap and offline: the core builds channels just to validate posts
        super().__init__(account)

    # -- the "HTTP" layer ------------------------------------------------------------------

    def _send(self) -> tuple[EchoNetwork, bool]:
        """Send one request: authenticate, then fail the way a queued fault says.

        :return: the network, and whether the response will be lost (a timeout after sending).
        """
        self.request_count += 1
        token = self.account.setting("token")
        if not token:
            raise AuthError('echo: no token; set token = {env = "ECHO_TOKEN"} on the account', status=401)
        network = self.networks.setdefault(self.account.name, EchoNetwork())
        fault = network.faults.pop(0) if network.faults else None
        # messages name the account and the problem, never the token
        if fault == "rate_limit":
            raise RateLimited(f"echo: account {self.account.name} is rate limited",
                              retry_at=utcnow() + timedelta(seconds=60))
        if fault == "server_error":
            raise TransientError("echo: 503 service unavailable", status=503)
        if fault == "auth":
            raise AuthError(f"echo: the token of {self.account.name} was revoked", status=401)
        return network, fault == "timeout_after_send"

    @staticmethod
    def _lost_response() -> TransientError:
        # the request went through: say so, and the core reconciles instead of sending again
        return TransientError("echo: read timeout (the request may have gone through)", maybe_delivered=True)

    # -- Channel ---------------------------------------------------------------------------

    def post_url(self, remote_id: str) -> str:
        return f"echo://{self.account.name}/{remote_id}"

    def publish(self, text: str, *, media: Sequence[str] = ()) -> Published:
        network, lost = self._send()
        now = utcnow()
        remote_id = network.new_id("p")
        network.posts.append({"id": remote_id, "text": text, "created_at": now.isoformat(), "reply_to": None})
        if lost:
            raise self._lost_response()
        return Published(remote_id=remote_id, url=self.post_url(remote_id), published_at=now)

    def find_recent_posts(self, since: datetime) -> list[RemotePost]:
        network, lost = self._send()
        posts = [p for p in network.posts
                 if p["reply_to"] is None and datetime.fromisoformat(p["created_at"]) >= since]
        if lost:
            raise self._lost_response()
        return [RemotePost(remote_id=p["id"], text=p["text"], created_at=datetime.fromisoformat(p["created_at"]),
                           url=self.post_url(p["id"])) for p in reversed(posts)]

    def fetch_engagements(self, cursor: str | None, posts: Sequence[OurPost]) -> tuple[list[Engagement], str | None]:
        network, lost = self._send()
        start = int(cursor) if cursor else 0  # the whole reading position is in the cursor
        ours = {p.remote_id for p in posts}
        batch = network.reactions[start:]
        if lost:
            raise self._lost_response()
        engagements = [
            Engagement(
                external_id=r["id"], kind=r["kind"], occurred_at=datetime.fromisoformat(r["at"]), text=r["text"],
                url=f"echo://{r['handle'].lstrip('@')}/{r['id']}", post_remote_id=r["post_id"],
                person=Person(handle=r["handle"], profile_url=f"echo://{r['handle'].lstrip('@')}"),
            )
            for r in batch
            if r["post_id"] is None or r["post_id"] in ours  # a bare mention, or on a post in the window
        ]
        return engagements, str(start + len(batch))

    def reply(self, engagement: Engagement, text: str) -> Published:
        network, lost = self._send()
        now = utcnow()
        remote_id = network.new_id("r")
        network.posts.append({"id": remote_id, "text": text, "created_at": now.isoformat(),
                              "reply_to": engagement.external_id})
        if lost:
            raise self._lost_response()
        return Published(remote_id=remote_id, url=self.post_url(remote_id), published_at=now)


@hookimpl
def register_channels(register):
    register("echo", EchoChannel)
