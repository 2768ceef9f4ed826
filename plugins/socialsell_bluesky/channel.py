"""The Bluesky channel: an app-password account on a PDS (``https://bsky.social`` by default).

``atproto`` (and httpx under it) is imported inside the methods that talk to the network:
building a ``BlueskyChannel``, which the core does to validate posts, costs nothing.

Sign-in: the app password (a secret reference in socialsell.toml) creates a session once; the
session (access and refresh tokens) is stored where socialsell stores tokens and reused, and
atproto refreshes it before the access token expires. A refreshed session is stored at once
(refresh tokens rotate). When a stored session stops working the channel signs in again with
the app password, once; if that is refused too, it raises ``AuthError`` and the account pauses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from socialsell.api import (
    AuthError,
    Capabilities,
    Channel,
    ChannelError,
    CheckResult,
    Engagement,
    Metrics,
    OurPost,
    Person,
    Published,
    Rejected,
    RemotePost,
    ReplyNotAllowed,
    SearchPage,
    SearchQuery,
    Setting,
    SharedPost,
    load_tokens,
    save_tokens,
)
from socialsell_bluesky import text as bsky_text
from socialsell_bluesky.errors import error_for, session_expired

if TYPE_CHECKING:  # pragma: no cover
    import httpx
    from atproto import Client

T = TypeVar("T")

APP = "https://bsky.app"
POST_COLLECTION = "app.bsky.feed.post"
#: notification reasons socialsell ingests, and the engagement kind each becomes
REASONS = {"reply": "reply", "mention": "mention", "quote": "quote", "like": "like", "repost": "repost", "follow": "follow"}
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 2_000_000
PAGE = 50
CLOCK_SLACK = timedelta(minutes=5)
MAX_PAGES = 10  # a poll reads at most 500 notifications; the cursor keeps the rest for the next one


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of an atproto model or of a plain dict (unknown record types stay dicts)."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        camel = "".join(p if i == 0 else p.capitalize() for i, p in enumerate(name.split("_")))
        return obj.get(name, obj.get(camel, default))
    return getattr(obj, name, default)


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def post_link(uri: str, handle_or_did: str | None = None) -> str:
    """The bsky.app link of ``at://DID/app.bsky.feed.post/RKEY``."""
    parts = uri.removeprefix("at://").split("/")
    who = handle_or_did or parts[0]
    return f"{APP}/profile/{who}/post/{parts[-1]}"


class BlueskyChannel(Channel):
    name = "bluesky"
    settings = (
        Setting("app_password", secret=True, help="an app password (Settings > App passwords), as a reference"),
        Setting("service", type="url", help="the PDS to sign in to (default https://bsky.social)"),
    )
    label = "Bluesky"
    max_length = bsky_text.MAX_GRAPHEMES
    supports = Capabilities(publish=True, engagements=True, reply=True, metrics=True, search=True)
    default_poll_interval = 120
    timeout = 20.0
    share_modes = ("repost", "quote", "link")

    def __init__(self, account):
        super().__init__(account)  # offline: the first network call signs in
        #: the httpx transport under atproto's client; None is the real network (tests pass an
        #: ``httpx.MockTransport``: the network is faked at the HTTP layer, atproto runs for real)
        self.transport: httpx.BaseTransport | None = None
        self._client: Client | None = None
        self._did: str | None = None
        self._handle: str | None = None
        self._session: str | None = None  # the session string in use, to tell a newer stored one

    # -- text --------------------------------------------------------------------------------

    def measure(self, text: str) -> int:
        """Graphemes; for a thread, those of its longest part."""
        return max(bsky_text.graphemes(part) for part in bsky_text.thread_parts(text))

    def validate(self, text: str) -> list[str]:
        parts = bsky_text.thread_parts(text)
        if len(parts) == 1:
            problems = super().validate(text)
            size = bsky_text.utf8_length(text)
            if size > bsky_text.MAX_BYTES:
                problems.append(f"{size} bytes is over Bluesky's limit of {bsky_text.MAX_BYTES} bytes")
            return problems
        problems = []
        for number, part in enumerate(parts, 1):
            where = f"thread part {number} of {len(parts)}"
            if not part:
                problems.append(f"{where} is empty")
            elif bsky_text.graphemes(part) > self.max_length:
                problems.append(f"{where}: {bsky_text.graphemes(part)} characters is over Bluesky's limit of {self.max_length}")
            elif bsky_text.utf8_length(part) > bsky_text.MAX_BYTES:
                problems.append(f"{where}: {bsky_text.utf8_length(part)} bytes is over Bluesky's limit of {bsky_text.MAX_BYTES} bytes")
        return problems

    # -- the session ---------------------------------------------------------------------------

    def _secrets(self) -> list[Any]:
        return [self.account.setting("app_password")]

    def _credentials(self) -> tuple[str, str]:
        handle = str(self.account.setting("handle") or "").strip().lstrip("@")
        password = self.account.setting("app_password")
        if not handle or not password:
            missing = [k for k, v in (("handle", handle), ("app_password", password)) if not v]
            raise AuthError(f"Bluesky account {self.account.name!r} needs {' and '.join(missing)} "
                            f'(app_password = {{env = "BSKY_APP_PASSWORD"}}, an app password from Settings > App passwords)')
        return handle, str(password)

    def _count_request(self, request: Any) -> None:
        self.request_count += 1

    def _new_client(self) -> Client:
        from atproto import Client  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)
        from atproto_client.request import Request  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

        request = Request(timeout=self.timeout, transport=self.transport, event_hooks={"request": [self._count_request]})
        client = Client(base_url=str(self.account.setting("service") or "https://bsky.social"), request=request)
        client.on_session_change(self._session_changed)
        return client

    def _session_changed(self, event: Any, session: Any) -> None:
        from atproto import SessionEvent  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

        self._did, self._handle = session.did, session.handle
        if event in (SessionEvent.CREATE, SessionEvent.REFRESH):  # refresh tokens rotate: keep the newest
            self._session = session.export()
            # only the session: every value stored with tokens is masked in messages as a secret,
            # and the handle must stay readable (the session string holds it anyway)
            save_tokens(self.account.workspace.state_dir, self.account.name, {"session": self._session})

    def _signed_in(self, source: str = "cached") -> Client:
        """A client with a session: the one in use (``cached``), the stored one (``store``), or a
        new one from the app password (``password``)."""
        if self._client is not None and source == "cached":
            return self._client
        client = self._new_client()
        stored = None if source == "password" else load_tokens(self.account.workspace.state_dir, self.account.name)
        if stored and stored.get("session"):
            client.login(session_string=stored["session"], fetch_bsky_profile=False)  # no request
            self._session = stored["session"]
        else:
            handle, password = self._credentials()
            client.login(handle, password, fetch_bsky_profile=False)
        self._client = client
        return client

    def _call(self, doing: str, call: Callable[[Client], T], *, write: bool = False) -> T:
        """Run ``call`` with a signed-in client; atproto's errors become socialsell's."""
        try:
            try:
                return call(self._signed_in())
            except Exception as e:
                if not session_expired(e):
                    raise
            # our session stopped working. Another worker may have refreshed it (refresh tokens
            # rotate, so ours is spent): take the stored one before spending a sign-in
            stored = load_tokens(self.account.workspace.state_dir, self.account.name) or {}
            if stored.get("session") and stored["session"] != self._session:
                try:
                    return call(self._signed_in("store"))
                except Exception as e:
                    if not session_expired(e):
                        raise
            return call(self._signed_in("password"))  # once
        except Exception as e:
            error = error_for(e, doing, write=write, account=self.account.name, secrets=self._secrets())
            if error is None:
                raise
            raise error from None

    def _repo(self) -> str:
        assert self._did, "signed in"
        return self._did

    # -- account -------------------------------------------------------------------------------

    def missing_credentials(self) -> str | None:
        try:
            self._credentials()
        except AuthError as e:
            return str(e)
        return None

    def check(self) -> CheckResult:
        try:
            profile = self._call("checking the account", lambda c: c.app.bsky.actor.get_profile({"actor": self._repo()}))
        except AuthError as e:
            return CheckResult(ok=False, identity=None, capabilities=Capabilities(publish=False), notes=[str(e)])
        return CheckResult(ok=True, identity=f"@{profile.handle}", capabilities=self.capabilities(),
                           notes=["signed in with an app password; the session is stored like other tokens"])

    def post_url(self, remote_id: str) -> str:
        return post_link(remote_id, self._handle)

    # -- publishing ------------------------------------------------------------------------------

    def _facets(self, client: Client, text: str) -> list[Any]:
        from atproto import models  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

        def resolve(handle: str) -> str | None:
            try:
                return client.com.atproto.identity.resolve_handle({"handle": handle}).did
            except Exception as e:
                if error_for(e, "resolving a mention", write=False, account=self.account.name, secrets=[]) is None:
                    raise
                return None  # an unknown handle stays plain text

        features = {
            "link": lambda v: models.AppBskyRichtextFacet.Link(uri=v),
            "mention": lambda v: models.AppBskyRichtextFacet.Mention(did=v),
            "tag": lambda v: models.AppBskyRichtextFacet.Tag(tag=v),
        }
        return [models.AppBskyRichtextFacet.Main(
                    index=models.AppBskyRichtextFacet.ByteSlice(byte_start=f.byte_start, byte_end=f.byte_end),
                    features=[features[f.kind](f.value)])
                for f in bsky_text.facets(text, resolve)]

    def _images(self, media: Sequence[str]) -> list[tuple[bytes, str]]:
        """Each file's bytes and its alt text (``MediaFile.alt``; "" for a plain path)."""
        if len(media) > MAX_IMAGES:
            raise Rejected(f"Bluesky takes at most {MAX_IMAGES} images in a post, not {len(media)}")
        images = []
        for path in media:
            data = Path(path).read_bytes()
            if len(data) > MAX_IMAGE_BYTES:
                raise Rejected(f"{path} is {len(data)} bytes; Bluesky takes images up to {MAX_IMAGE_BYTES} bytes")
            images.append((data, getattr(path, "alt", "") or ""))
        return images

    def _create(self, text: str, *, media: Sequence[str] = (), reply_to: Any = None, embed: Any = None,
                doing: str) -> Any:
        """One post record; atproto's answer (``uri``, ``cid``)."""
        images = self._images(media)

        def send(client: Client) -> Any:
            facets = self._facets(client, text) or None
            if images:  # app.bsky.embed.images: each image's blob with its alt text
                return client.send_images(text, images=[data for data, _ in images],
                                          image_alts=[alt for _, alt in images], facets=facets,
                                          reply_to=reply_to, profile_identify=self._repo())
            return client.send_post(text, facets=facets, reply_to=reply_to, embed=embed, profile_identify=self._repo())

        return self._call(doing, send, write=True)

    def publish(self, text: str, *, media: Sequence[str] = ()) -> Published:
        """Post ``text`` (a reply chain when it is a ``---`` thread), images on the first post."""
        from atproto import models  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

        parts = [part for part in bsky_text.thread_parts(text) if part]
        if not parts:
            raise Rejected("the text is empty")
        sent_at = datetime.now(UTC)  # the record's createdAt is set just after: never later than it
        first = self._create(parts[0], media=media, doing="publishing a post")
        root = previous = models.create_strong_ref(first)
        for number, part in enumerate(parts[1:], 2):
            try:
                created = self._create(part, reply_to=models.AppBskyFeedPost.ReplyRef(root=root, parent=previous),
                                        doing=f"publishing thread part {number}")
            except ChannelError as e:
                # the first parts are public: sending again would post them twice, and reconciling
                # cannot match half a thread, so a person finishes it
                raise Rejected(f"thread partly published: parts 1-{number - 1} of {len(parts)} are live "
                               f"({post_link(first.uri, self._handle)}); part {number} failed ({e}); finish it on bsky.app") from None
            previous = models.create_strong_ref(created)
        return Published(remote_id=first.uri, url=post_link(first.uri, self._handle), published_at=sent_at)

    def share(self, target: SharedPost, text: str, *, mode: str) -> Published:
        """A repost record (``repost``), a post embedding the brand post (``quote``) or a post
        with the link (``link``). Reposting and quoting need the post's cid: one getPosts."""
        from atproto import models  # noqa: PLC0415 - network library, loaded when a Bluesky account is used

        if mode == "link":
            return self.publish(text)
        if mode not in ("repost", "quote") or not target.remote_id:
            raise Rejected(f"Bluesky cannot {mode} a post without its at:// URI")
        found = self._call("reading the shared post", lambda c: c.app.bsky.feed.get_posts({"uris": [target.remote_id]}))
        post = next((p for p in found.posts if p.uri == target.remote_id), None)
        if post is None:
            raise Rejected(f"Bluesky has no post {target.remote_id} (deleted?)")
        ref = models.ComAtprotoRepoStrongRef.Main(uri=post.uri, cid=post.cid)
        sent_at = self.clock()
        if mode == "repost":
            # the record itself, not Client.repost: that reads the repo from a sign-in, and a
            # restored session has none
            record = models.AppBskyFeedRepost.Record(created_at=sent_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                                                     subject=ref)
            created = self._call("reposting", lambda c: c.app.bsky.feed.repost.create(self._repo(), record), write=True)
            return Published(remote_id=created.uri, url=post_link(target.remote_id), published_at=sent_at)
        created = self._create(text, embed=models.AppBskyEmbedRecord.Main(record=ref), doing="quoting a post")
        return Published(remote_id=created.uri, url=post_link(created.uri, self._handle), published_at=sent_at)

    def find_recent_posts(self, since: datetime) -> list[RemotePost]:
        """Our posts since ``since``, newest first. A thread we posted is also listed as one post
        whose text is its parts joined by ``---`` lines, the way it was written."""
        ours: dict[str, tuple[str, str | None, datetime | None]] = {}  # uri -> text, parent uri, created
        quoted: dict[str, str | None] = {}  # uri -> the post it embeds (a quote: a share)
        shared: list[RemotePost] = []  # our reposts
        order: list[str] = []
        cursor = None
        for _ in range(MAX_PAGES):
            page = self._call("listing our recent posts", lambda c, cur=cursor: c.app.bsky.feed.get_author_feed(
                {"actor": self._repo(), "filter": "posts_and_author_threads", "limit": PAGE, "cursor": cur}))
            older = False
            for item in page.feed:
                post = item.post
                created = _time(_get(post.record, "created_at")) or _time(post.indexed_at)
                reposted = _get(item.reason, "uri")  # our repost record (a share), when the feed says
                if reposted and _get(_get(item.reason, "by"), "did") == self._did:
                    at = _time(_get(item.reason, "indexed_at"))
                    if at is None or at >= since:
                        shared.append(RemotePost(remote_id=reposted, text="", created_at=at, url=post_link(post.uri),
                                                 shares=post.uri))
                    continue
                if item.reason is not None or post.author.did != self._did:  # someone else's
                    continue
                if created is not None and created < since:
                    older = True
                    continue
                parent = _get(_get(_get(post.record, "reply"), "parent"), "uri")
                ours[post.uri] = (_get(post.record, "text", ""), parent, created)
                quoted[post.uri] = _get(_get(_get(post.record, "embed"), "record"), "uri")
                order.append(post.uri)
            cursor = page.cursor
            if older or not cursor:
                break
        # newest first, so the earliest self-reply to a post (the thread's next part) is kept
        next_part = {parent: uri for uri, (_, parent, _) in ours.items() if parent in ours}
        posts: list[RemotePost] = []
        for uri in order:
            text, parent, created = ours[uri]
            if parent is not None:
                continue  # a later part of one of our threads, or a reply to someone
            url = post_link(uri, self._handle)
            posts.append(RemotePost(remote_id=uri, text=text, created_at=created, url=url, shares=quoted.get(uri)))
            parts, at = [text], uri
            while at in next_part and len(parts) < 25:
                at = next_part[at]
                parts.append(ours[at][0])
            if len(parts) > 1:
                posts.append(RemotePost(remote_id=uri, text=bsky_text.THREAD_JOIN.join(parts), created_at=created, url=url))
        oldest = datetime.min.replace(tzinfo=UTC)
        return sorted(posts + shared, key=lambda p: p.created_at or oldest, reverse=True)  # stable: threads stay in order

    # -- engagements -------------------------------------------------------------------------------

    def fetch_engagements(self, cursor: str | None, posts: Sequence[OurPost]) -> tuple[list[Engagement], str | None]:
        """Notifications newer than the cursor, which holds the newest ``indexedAt`` seen and the
        notifications seen at that instant: all the reading position, so an old cursor replays."""
        state = json.loads(cursor) if cursor else {}
        mark, seen = _time(state.get("at")), set(state.get("seen", []))
        # the first read starts a little before the oldest post in the window (clocks differ)
        oldest = min((p.published_at for p in posts), default=None)
        floor = mark or (oldest - CLOCK_SLACK if oldest else None)
        fresh: list[Any] = []
        page_cursor = None
        for _ in range(MAX_PAGES):
            page = self._call("reading notifications", lambda c, cur=page_cursor: c.app.bsky.notification.list_notifications(
                {"limit": PAGE, "cursor": cur}))
            older = False
            for n in page.notifications:
                at = _time(n.indexed_at)
                if floor is not None and at < floor or (mark is not None and at == mark and n.uri in seen):
                    older = True
                    continue
                fresh.append(n)
            page_cursor = page.cursor
            if older or not page_cursor:
                break
        engagements = [e for e in (self._engagement(n) for n in fresh) if e is not None]
        if fresh:
            newest = max(_time(n.indexed_at) for n in fresh)
            at_newest = {n.uri for n in fresh if _time(n.indexed_at) == newest}
            state = {"at": newest.isoformat(), "seen": sorted(at_newest | (seen if newest == mark else set()))}
        return engagements, json.dumps(state) if state else None

    def _engagement(self, n: Any) -> Engagement | None:
        kind = REASONS.get(n.reason)
        if kind is None:
            return None
        author = n.author
        handle = author.handle
        record = n.record
        person = Person(handle=f"@{handle}", name=author.display_name or None, external_id=author.did,
                        profile_url=f"{APP}/profile/{handle}", headline=_get(author, "description") or None)
        post_remote_id = in_reply_to = text = None
        raw: dict[str, Any] = {"uri": n.uri, "cid": n.cid}
        url = f"{APP}/profile/{handle}"
        if kind in ("like", "repost"):
            post_remote_id = n.reason_subject
        elif kind != "follow":
            text = _get(record, "text")
            url = post_link(n.uri, handle)
            reply = _get(record, "reply")
            if reply is not None:
                root, parent = _get(reply, "root"), _get(reply, "parent")
                raw["root"] = {"uri": _get(root, "uri"), "cid": _get(root, "cid")}
                post_remote_id = _get(root, "uri")
                if _get(parent, "uri") != post_remote_id:
                    in_reply_to = _get(parent, "uri")
            if kind == "quote":
                embed = _get(record, "embed")
                quoted = _get(embed, "record")
                quoted = _get(quoted, "record", quoted) if _get(quoted, "uri") is None else quoted  # recordWithMedia
                post_remote_id = _get(quoted, "uri")
        return Engagement(external_id=n.uri, kind=kind, person=person, occurred_at=_time(_get(record, "created_at")) or _time(n.indexed_at),
                          text=text, url=url, post_remote_id=post_remote_id, in_reply_to=in_reply_to, raw=raw)

    def search(self, query: SearchQuery, cursor: str | None, *, limit: int) -> SearchPage:
        """Post search, one term per call in turn (socialsell_bluesky.search)."""
        from socialsell_bluesky.search import search  # noqa: PLC0415 - import cycle: search.py reads channel.py's helpers

        return search(self, query, cursor, limit)

    def reply(self, engagement: Engagement, text: str) -> Published:
        if engagement.kind in ("like", "repost", "follow") or not engagement.raw.get("cid"):
            raise ReplyNotAllowed(f"a Bluesky {engagement.kind} has no post to answer: write to them instead",
                                  url=engagement.person.profile_url or engagement.url)
        from atproto import models  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

        parent = models.ComAtprotoRepoStrongRef.Main(uri=engagement.raw["uri"], cid=engagement.raw["cid"])
        root_ref = engagement.raw.get("root") or engagement.raw
        root = models.ComAtprotoRepoStrongRef.Main(uri=root_ref["uri"], cid=root_ref["cid"])
        reply_to = models.AppBskyFeedPost.ReplyRef(root=root, parent=parent)  # in the thread: root and parent
        created = self._create(text, reply_to=reply_to, doing="replying")
        return Published(remote_id=created.uri, url=post_link(created.uri, self._handle), published_at=self.clock())

    def fetch_metrics(self, remote_ids: Sequence[str]) -> list[Metrics]:
        metrics = []
        ids = list(remote_ids)
        for i in range(0, len(ids), 25):  # getPosts takes at most 25 URIs
            chunk = ids[i:i + 25]
            page = self._call("reading post counters", lambda c, uris=chunk: c.app.bsky.feed.get_posts({"uris": uris}))
            for post in page.posts:
                metrics.append(Metrics(remote_id=post.uri, likes=post.like_count, reposts=post.repost_count,
                                       replies=post.reply_count, quotes=post.quote_count))
        return metrics

    def close(self) -> None:
        if self._client is not None:
            self._client.request.close()
            self._client = None

