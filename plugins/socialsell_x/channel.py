"""The X (Twitter) channel: tweepy's API v2 client behind socialsell's :class:`Channel`.

tweepy and requests are imported inside methods only: building an ``XChannel`` (which the core
does for validation and read-only commands) costs no network library and no network call.
Every HTTP request goes through one metered session that sets a timeout (tweepy sets none)
and counts the request in :attr:`Channel.request_count`.
"""

from __future__ import annotations

import html
import json
import logging
import mimetypes
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from socialsell.api import (
    SIGNAL_KIND,
    AuthError,
    Capabilities,
    Channel,
    ChannelError,
    CheckResult,
    ConfigError,
    Engagement,
    Metrics,
    OurPost,
    Published,
    Rejected,
    RemotePost,
    ReplyNotAllowed,
    SearchPage,
    SearchQuery,
    Setting,
    SharedPost,
    TransientError,
    UsageError,
    save_tokens,
)
from socialsell_x import auth
from socialsell_x.errors import error_for_exception
from socialsell_x.text import MAX_WEIGHTED_LENGTH, thread_parts, weighted_length

if TYPE_CHECKING:  # pragma: no cover
    import requests
    import tweepy

    from socialsell.api import Account

log = logging.getLogger(__name__)
T = TypeVar("T")

MEDIA_UPLOAD_URL = "https://api.x.com/2/media/upload"
API_URL = "https://api.twitter.com/2"  # tweepy.Client's base for API v2
#: what the one-shot upload takes: images up to 5 MB (X's limit for tweet_image)
IMAGE_TYPES = {"image/jpeg": "tweet_image", "image/png": "tweet_image", "image/webp": "tweet_image", "image/gif": "tweet_gif"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_MEDIA = 4
METRICS_BATCH = 100
REPLYABLE_KINDS = ("reply", "mention", "quote")
#: requests one engagement poll may make unless the account sets ``poll_request_budget``
DEFAULT_POLL_BUDGET = 50


@dataclass(frozen=True)
class Identity:
    user_id: str
    username: str


def metered_session(channel: Channel) -> requests.Session:
    """A requests session that counts every request on ``channel`` and never waits forever."""
    import requests  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

    class MeteredSession(requests.Session):
        def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = (min(10.0, channel.timeout), channel.timeout)
            channel.request_count += 1
            return super().request(method, url, *args, **kwargs)

    return MeteredSession()


def tweet_url(username: str | None, tweet_id: str) -> str:
    if username:
        return f"https://x.com/{username}/status/{tweet_id}"
    return f"https://x.com/i/web/status/{tweet_id}"


class XChannel(Channel):
    """An X account: posts and threads, images, engagements, replies and metrics over API v2."""

    name = "x"
    settings = (
        Setting("client_id", help="the app's OAuth 2.0 client id (connect)"),
        Setting("client_secret", secret=True, help="its secret, for a confidential client"),
        Setting("consumer_key", secret=True, help="OAuth 1.0a: the API key"),
        Setting("consumer_secret", secret=True, help="OAuth 1.0a: the API key secret"),
        Setting("access_token", secret=True, help="OAuth 1.0a: the access token"),
        Setting("access_token_secret", secret=True, help="OAuth 1.0a: the access token secret"),
        Setting("user_id", type=(str, int), help="the account's numeric id, to skip a lookup"),
        Setting("callback_port", type=int, low=0, high=65535, help="the loopback port of the app's callback"),
        Setting("poll_request_budget", type=int, low=1, high=10_000, help="the most requests one poll makes"),
    )
    label = "X"
    max_length = MAX_WEIGHTED_LENGTH
    supports = Capabilities(publish=True, engagements=True, reply=True, metrics=True, search=True)
    default_poll_interval = 900
    share_modes = ("repost", "quote", "link")
    #: recent search serves 10 to 100 posts a request (docs/listening.md)
    search_page_min = 10
    search_page_max = 100
    #: seconds ``connect`` waits for the browser to come back
    connect_wait: float = 300.0

    def __init__(self, account: Account):
        super().__init__(account)
        self._creds: auth.Credentials | None = None
        self._tweepy_client: tweepy.Client | None = None
        self._http_session: requests.Session | None = None
        self._identity: Identity | None = None
        self.poll_request_budget = _poll_budget(account)

    # -- text ------------------------------------------------------------------------------

    def measure(self, text: str) -> int:
        """X's weighted length; for a thread, the length of its longest part."""
        return max(weighted_length(part) for part in thread_parts(text))

    def validate(self, text: str) -> list[str]:
        parts = thread_parts(text)
        if len(parts) == 1:
            return super().validate(text)
        problems = []
        for number, part in enumerate(parts, 1):
            where = f"thread part {number} of {len(parts)}"
            if not part:
                problems.append(f"{where} is empty")
                continue
            length = weighted_length(part)
            if length > self.max_length:
                problems.append(f"{where}: {length} characters is over X's limit of {self.max_length}")
        return problems

    # -- plumbing --------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        if self._http_session is None:
            self._http_session = metered_session(self)
        return self._http_session

    def _credentials(self) -> auth.Credentials:
        if self._creds is None:
            self._creds = auth.load_credentials(self.account)
        return self._creds

    def _secrets(self) -> list[str | None]:
        try:
            return self._credentials().secrets()
        except AuthError:
            return []

    def _client(self) -> tweepy.Client:
        if self._tweepy_client is None:
            import tweepy  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

            creds = self._credentials()
            client = tweepy.Client(
                bearer_token=creds.bearer_token,
                consumer_key=creds.oauth1.get("consumer_key"),
                consumer_secret=creds.oauth1.get("consumer_secret"),
                access_token=creds.oauth1.get("access_token"),
                access_token_secret=creds.oauth1.get("access_token_secret"),
                return_type=dict,
                wait_on_rate_limit=False,  # it sleeps inside the call; the core defers instead
            )
            client.session.close()
            client.session = self._session()
            self._tweepy_client = client
        return self._tweepy_client

    def _refresh(self) -> None:
        auth.refresh_tokens(self._session(), self.account, self._credentials())
        self._tweepy_client = None  # rebuilt with the new bearer token

    def _authorized(self, attempt: Callable[[auth.Credentials], T], *, write: bool, doing: str) -> T:
        """Run ``attempt`` with fresh credentials; one token refresh at most, on expiry or a 401."""
        creds = self._credentials()
        refreshed = False
        if creds.expired():
            self._refresh()
            refreshed = True
        while True:
            try:
                return attempt(creds)
            except ChannelError:
                raise
            except Exception as exc:
                error = error_for_exception(exc, write=write, secrets=creds.secrets(), doing=doing)
                if isinstance(error, AuthError) and creds.mode == "oauth2" and not refreshed and creds.can_refresh():
                    self._refresh()
                    refreshed = True
                    continue
                raise error from None

    def _call(self, method: str, *args: Any, write: bool = False, doing: str = "the request", **kwargs: Any) -> dict[str, Any]:
        """Call a ``tweepy.Client`` method; X's JSON answer, or a channel error."""

        def attempt(creds: auth.Credentials) -> dict[str, Any]:
            return getattr(self._client(), method)(*args, user_auth=creds.user_auth, **kwargs) or {}

        return self._authorized(attempt, write=write, doing=doing)

    def _raw(self, method: str, url: str, *, write: bool, doing: str, **kwargs: Any) -> dict[str, Any]:
        """A request tweepy.Client has no method for, signed like tweepy signs its own."""

        def attempt(creds: auth.Credentials) -> dict[str, Any]:
            import tweepy  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

            headers = {"User-Agent": self._client().user_agent}
            signer = None
            if creds.user_auth:
                o = creds.oauth1
                signer = tweepy.OAuth1UserHandler(
                    o["consumer_key"], o["consumer_secret"], o["access_token"], o["access_token_secret"]
                ).apply_auth()
            else:
                headers["Authorization"] = f"Bearer {creds.bearer_token}"
            with self._session().request(method, url, headers=headers, auth=signer, **kwargs) as response:
                status = response.status_code
                if status >= 400:
                    error_class = {
                        400: tweepy.BadRequest, 401: tweepy.Unauthorized, 403: tweepy.Forbidden,
                        404: tweepy.NotFound, 429: tweepy.TooManyRequests,
                    }.get(status, tweepy.TwitterServerError if status >= 500 else tweepy.HTTPException)
                    raise error_class(response)
                return response.json() if response.content else {}

        return self._authorized(attempt, write=write, doing=doing)

    # -- identity and per-account state ------------------------------------------------------

    def _state_path(self) -> Path:
        return self.account.workspace.state_dir / "x" / f"{self.account.name}.json"

    def _state(self) -> dict[str, Any]:
        try:
            return json.loads(self._state_path().read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self, **values: Any) -> None:
        path = self._state_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {**self._state(), **values}
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # workers may write at once
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
        os.replace(tmp, path)

    def _known_identity(self) -> Identity | None:
        """Who we are without asking X: settings ``user_id``/``handle``, else the cached state."""
        if self._identity is None:
            user_id, handle = self.account.setting("user_id"), self.account.setting("handle")
            if not (user_id and handle):
                state = self._state()
                user_id, handle = user_id or state.get("user_id"), handle or state.get("username")
            if user_id and handle:
                self._identity = Identity(str(user_id), str(handle).lstrip("@"))
        return self._identity

    def _fetch_identity(self) -> Identity:
        answer = self._call("get_me", user_fields=["username"], doing="reading the account")
        data = answer.get("data") or {}
        if not data.get("id"):
            raise TransientError("X answered the account lookup without the account")
        self._identity = Identity(str(data["id"]), str(data["username"]))
        self._save_state(user_id=self._identity.user_id, username=self._identity.username)
        return self._identity

    def me(self) -> Identity:
        """Our user id and handle (one get_me the first time, cached in the channel state after)."""
        return self._known_identity() or self._fetch_identity()

    def post_url(self, remote_id: str) -> str | None:
        identity = self._known_identity()
        return tweet_url(identity.username if identity else None, remote_id)

    # -- account ---------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        configured = self.account.has_setting("client_id") or self.account.has_setting("consumer_key")
        if not configured:
            return Capabilities(publish=False)
        cached = self._state().get("capabilities")
        if isinstance(cached, dict):
            # search needs the same read access as engagements (a check before search existed did not record it)
            return Capabilities(**{k: bool(cached.get(k)) for k in ("publish", "engagements", "reply", "metrics")},
                                search=bool(cached.get("search", cached.get("engagements"))))
        return self.supports

    def missing_credentials(self) -> str | None:
        """No keys, or OAuth 2.0 never connected (read from the config and the token store)."""
        try:
            self._credentials()
        except AuthError as exc:  # also a token file others can read: the message says how to fix it
            return str(exc)
        return None

    def check(self) -> CheckResult:
        """get_me, then one small mentions read to learn whether this access reads engagements."""
        try:
            creds = self._credentials()
            identity = self._fetch_identity()
        except UsageError:  # a token file others can read: refused as bad input, with the fix
            raise
        except AuthError as exc:
            return CheckResult(ok=False, identity=None, capabilities=Capabilities(publish=False), notes=[str(exc)])
        notes = [f"authenticated with OAuth {'1.0a' if creds.mode == 'oauth1' else '2.0'}"]
        scopes = creds.scopes()
        publish = scopes is None or "tweet.write" in scopes
        if not publish:
            notes.append("the token lacks tweet.write: reconnect to publish")
        if scopes is not None and "offline.access" not in scopes:
            notes.append("the token lacks offline.access: it expires after 2 hours and cannot be refreshed")
        if scopes is not None and "like.read" not in scopes:
            notes.append("the token lacks like.read: likes will not be read")
        try:
            self._call("get_users_mentions", identity.user_id, max_results=5, doing="reading mentions")
            engagements = True
        except Rejected as exc:
            engagements = False
            notes.append(f"publish only: {exc}")
        if publish:
            notes.append("since 2026-02 X lets a self-serve app reply only to posts that mention or quote the account")
        capabilities = Capabilities(publish=publish, engagements=engagements, reply=publish, metrics=engagements,
                                    search=engagements)
        self._save_state(capabilities={name: True for name in capabilities.names()} | {"checked": True})
        return CheckResult(ok=True, identity=f"@{identity.username}", capabilities=capabilities, notes=notes)

    def connect(self, echo: Any) -> None:
        """OAuth 2.0 PKCE sign-in in the browser with a loopback redirect; stores the tokens."""
        port = self.account.setting("callback_port", auth.DEFAULT_CALLBACK_PORT)
        tokens = auth.authorize(self._session(), self.account, echo, port=int(port), wait=self.connect_wait)
        where = save_tokens(self.account.workspace.state_dir, self.account.name, tokens)
        self._creds = None
        self._tweepy_client = None
        self._identity = None
        try:
            who = f"@{self._fetch_identity().username}"
        except ChannelError as exc:
            who = f"the account (not verified yet: {exc})"
        echo(f"Connected {who}; tokens stored in {where}")

    # -- publishing ------------------------------------------------------------------------

    def publish(self, text: str, *, media: Sequence[str] = ()) -> Published:
        """Post ``text`` (a reply chain when it is a ``---`` thread), images on the first tweet."""
        parts = [part for part in thread_parts(text) if part]
        if not parts:
            raise Rejected("the text is empty")
        identity = self.me()
        media_ids = self.upload_images(media)
        first = self._create_tweet(parts[0], media_ids=media_ids or None, doing="the post")
        previous = first
        for number, part in enumerate(parts[1:], 2):
            try:
                previous = self._create_tweet(part, in_reply_to_tweet_id=previous, doing=f"thread part {number}")
            except ChannelError as exc:
                # The first parts are public. Re-sending would post them twice and reconciling
                # cannot match a half thread, so this needs a person: say exactly what is live.
                raise Rejected(
                    f"thread partly published: parts 1-{number - 1} of {len(parts)} are live "
                    f"({tweet_url(identity.username, first)}); part {number} failed ({exc}); "
                    "finish the thread on x.com",
                ) from None
        return Published(remote_id=first, url=tweet_url(identity.username, first), published_at=self.clock())

    def share(self, target: SharedPost, text: str, *, mode: str) -> Published:
        """A retweet (``repost``), a quote tweet (``quote``: tweepy's ``create_tweet`` with
        ``quote_tweet_id``) or a tweet with the link (``link``)."""
        if mode == "link":
            return self.publish(text)
        if mode not in ("repost", "quote") or not target.remote_id:
            raise Rejected(f"X cannot {mode} a post without its tweet id")
        identity = self.me()
        if mode == "quote":
            if not text.strip():
                raise Rejected("a quote tweet needs words of its own")
            tweet_id = self._create_tweet(text, quote_tweet_id=target.remote_id, doing="the quote")
            return Published(remote_id=tweet_id, url=tweet_url(identity.username, tweet_id), published_at=self.clock())
        return self._retweet(identity, target.remote_id, target.url)

    def _retweet(self, identity: Identity, tweet_id: str, url: str | None) -> Published:
        """POST /2/users/:id/retweets, signed like tweepy's ``Client.retweet`` (which would look the
        user id up again: the channel knows it). X answers ``retweeted: true`` without the
        retweet's own id, and the same for a tweet retweeted before, so the id is read from our
        timeline; not there yet: the outcome is unknown and the core reconciles it."""
        sent_at = self.clock()
        answer = self._raw("POST", f"{API_URL}/users/{identity.user_id}/retweets", write=True, doing="the repost",
                           json={"tweet_id": str(tweet_id)})
        if not (answer.get("data") or {}).get("retweeted"):
            raise TransientError("X answered the repost without confirming it", maybe_delivered=True)
        found = self._call("get_users_tweets", identity.user_id, start_time=sent_at - timedelta(days=7), max_results=100,
                           tweet_fields=["created_at", "referenced_tweets"], doing="finding our repost")
        ours = next((t for t in found.get("data") or [] if referenced(t, "retweeted") == str(tweet_id)), None)
        if ours is None:
            raise TransientError("X confirmed the repost but does not list it yet", maybe_delivered=True)
        # a retweet has no page of its own: its link is the shared tweet's
        return Published(remote_id=str(ours["id"]), url=url or tweet_url(None, str(tweet_id)),
                         published_at=parse_time(ours.get("created_at")) or sent_at)

    def _create_tweet(self, text: str, *, doing: str, **kwargs: Any) -> str:
        answer = self._call("create_tweet", text=text, write=True, doing=doing, **kwargs)
        tweet_id = (answer.get("data") or {}).get("id")
        if not tweet_id:
            raise TransientError(f"X answered {doing} without a tweet id", maybe_delivered=True)
        return str(tweet_id)

    def upload_images(self, paths: Sequence[str]) -> list[str]:
        """Upload images with POST /2/media/upload; their media ids, in order."""
        if len(paths) > MAX_MEDIA:
            raise Rejected(f"X takes at most {MAX_MEDIA} images per post, not {len(paths)}")
        checked = []
        for path in paths:  # check every file before uploading any: no orphan uploads
            file = Path(path).expanduser()
            kind = mimetypes.guess_type(file.name)[0] or ""
            if kind not in IMAGE_TYPES:
                raise Rejected(f"{file.name}: X images must be JPEG, PNG, WEBP or GIF")
            try:
                size = file.stat().st_size
            except OSError:
                raise Rejected(f"image not found: {file}") from None
            if size > MAX_IMAGE_BYTES:
                raise Rejected(f"{file.name} is {size / 1048576:.1f} MB; X takes images up to 5 MB")
            checked.append((file, kind))
        media_ids = []
        for file, kind in checked:
            answer = self._raw(
                "POST", MEDIA_UPLOAD_URL, write=False, doing=f"uploading {file.name}",
                files={"media": (file.name, file.read_bytes(), kind)},
                data={"media_category": IMAGE_TYPES[kind]},
            )
            media_id = (answer.get("data") or {}).get("id") or answer.get("media_id_string")
            if not media_id:
                raise TransientError(f"X answered the upload of {file.name} without a media id")
            media_ids.append(str(media_id))
        return media_ids

    def find_recent_posts(self, since: datetime) -> list[RemotePost]:
        """Our own tweets created since ``since``, newest first (to reconcile an unknown outcome).

        X returns text HTML-escaped (``&amp;``): it is unescaped to compare with what we sent. A
        thread we posted is also listed as one post whose text is its parts joined by ``---``
        lines, the way it was written, next to its first tweet alone.
        """
        identity = self.me()
        tweets: dict[str, dict[str, Any]] = {}
        token = None
        for _ in range(5):  # 500 tweets: far more than one can post between a crash and a restart
            answer = self._call(
                "get_users_tweets", identity.user_id, start_time=since, max_results=100,
                tweet_fields=["created_at", "conversation_id", "referenced_tweets"],
                pagination_token=token, doing="reading our timeline",
            )
            for tweet in answer.get("data") or []:
                tweets[str(tweet["id"])] = tweet
            token = (answer.get("meta") or {}).get("next_token")
            if not token:
                break
        next_part: dict[str, str] = {}
        for tweet_id in sorted(tweets, key=int, reverse=True):  # the earliest self-reply wins
            parent = replied_to(tweets[tweet_id])
            if parent in tweets:
                next_part[parent] = tweet_id
        posts: list[RemotePost] = []
        for tweet_id in sorted(tweets, key=int, reverse=True):
            if replied_to(tweets[tweet_id]) in tweets:
                continue  # a later part of one of our threads
            tweet = tweets[tweet_id]
            post = RemotePost(
                remote_id=tweet_id, text=html.unescape(tweet.get("text", "")),
                created_at=parse_time(tweet.get("created_at")), url=tweet_url(identity.username, tweet_id),
                shares=referenced(tweet, "quoted") or referenced(tweet, "retweeted"),
            )
            posts.append(post)
            parts, cursor = [post.text], tweet_id
            while cursor in next_part and len(parts) < 25:
                cursor = next_part[cursor]
                parts.append(html.unescape(tweets[cursor].get("text", "")))
            if len(parts) > 1:
                posts.append(RemotePost(remote_id=tweet_id, text="\n---\n".join(parts), created_at=post.created_at, url=post.url))
        return posts

    # -- engagements -----------------------------------------------------------------------

    def fetch_engagements(self, cursor: str | None, posts: Sequence[OurPost]) -> tuple[list[Engagement], str | None]:
        from socialsell_x.engagements import poll  # noqa: PLC0415 - an import cycle: engagements imports this module

        return poll(self, cursor, posts)

    def query_problems(self, query: SearchQuery) -> list[str]:
        from socialsell_x.search import query_problems  # noqa: PLC0415 - import cycle: search.py reads channel.py's helpers

        return query_problems(query)

    def search(self, query: SearchQuery, cursor: str | None, *, limit: int) -> SearchPage:
        from socialsell_x.search import search  # noqa: PLC0415 - import cycle: search.py reads channel.py's helpers

        return search(self, query, cursor, limit)

    def reply(self, engagement: Engagement, text: str) -> Published:
        """Answer a reply, mention or quote under it; likes and reposts have nothing to answer. A
        listening signal only when its post mentions us: since 2026-02 X lets a self-serve app
        reply only to posts that mention or quote the account (docs/channels/x.md)."""
        by_hand = engagement.url or engagement.person.profile_url
        if engagement.kind == SIGNAL_KIND:
            identity = self._known_identity()
            mentioned = identity is not None and f"@{identity.username.lower()}" in (engagement.text or "").lower()
            if not mentioned:
                raise ReplyNotAllowed(
                    "X lets an app reply only to posts that mention or quote the account: answer on x.com", url=by_hand)
        if engagement.kind not in (*REPLYABLE_KINDS, SIGNAL_KIND):
            raise ReplyNotAllowed(
                f"a {engagement.kind} on X has no post to answer: reach {engagement.person.handle} on x.com",
                url=engagement.person.profile_url or by_hand,
            )
        try:
            reply_id = self._create_tweet(text, in_reply_to_tweet_id=engagement.external_id, doing="the reply")
        except ReplyNotAllowed as exc:
            raise ReplyNotAllowed(f"{exc}; reply on x.com", url=by_hand, status=exc.status) from None
        identity = self._known_identity()
        return Published(
            remote_id=reply_id,
            url=tweet_url(identity.username if identity else None, reply_id),
            published_at=self.clock(),
        )

    # -- metrics ---------------------------------------------------------------------------

    def fetch_metrics(self, remote_ids: Sequence[str]) -> list[Metrics]:
        """Counters in batches of 100; private counters (clicks) when X allows them for the post."""
        ids = list(dict.fromkeys(str(i) for i in remote_ids))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), METRICS_BATCH):
            batch = ids[start:start + METRICS_BATCH]
            found.update(self._metrics_batch(batch, private=not self._state().get("public_metrics_only")))
            missing = [i for i in batch if i not in found]
            if missing and not self._state().get("public_metrics_only"):
                # X withholds private counters for posts over 30 days old: public ones still count.
                found.update(self._metrics_batch(missing, private=False))
        return [metrics_from_tweet(found[i]) for i in ids if i in found]

    def _metrics_batch(self, ids: list[str], *, private: bool) -> dict[str, dict[str, Any]]:
        fields = ["public_metrics", "non_public_metrics", "organic_metrics"] if private else ["public_metrics"]
        try:
            answer = self._call("get_tweets", ids, tweet_fields=fields, doing="reading metrics")
        except Rejected as exc:
            said = str(exc).lower()
            if not private or exc.status not in (400, 403) or not any(
                word in said for word in ("non_public_metrics", "organic_metrics", "field")
            ):
                raise
            log.info("X refused private metrics for %s (%s); reading public ones", self.account.name, exc)
            self._save_state(public_metrics_only=True)
            return self._metrics_batch(ids, private=False)
        return {str(t["id"]): t for t in answer.get("data") or [] if t.get("id")}

    def close(self) -> None:
        if self._http_session is not None:
            self._http_session.close()
            self._http_session = None
        self._tweepy_client = None


def _poll_budget(account: Account) -> int:
    """``poll_request_budget``: the most requests one engagement poll makes (see docs/channels/x.md)."""
    value = account.settings.get("poll_request_budget", DEFAULT_POLL_BUDGET)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            account.workspace.config_path, f"accounts.{account.name}.poll_request_budget",
            f"a whole number of requests per poll, at least 1 (default {DEFAULT_POLL_BUDGET}), not {value!r}",
        )
    return value


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def replied_to(tweet: dict[str, Any]) -> str | None:
    return referenced(tweet, "replied_to")


def referenced(tweet: dict[str, Any], kind: str) -> str | None:
    """The id of the tweet ``tweet`` refers to as ``kind`` (replied_to, quoted, retweeted)."""
    return next((str(r["id"]) for r in tweet.get("referenced_tweets") or [] if r.get("type") == kind), None)


def metrics_from_tweet(tweet: dict[str, Any]) -> Metrics:
    public = tweet.get("public_metrics") or {}
    private = tweet.get("non_public_metrics") or {}
    organic = tweet.get("organic_metrics") or {}
    extra = {"bookmarks": public.get("bookmark_count")}
    if organic:
        extra["organic"] = organic
    if "engagements" in private:
        extra["engagements"] = private["engagements"]
    return Metrics(
        remote_id=str(tweet["id"]),
        impressions=private.get("impression_count", public.get("impression_count")),
        likes=public.get("like_count"),
        replies=public.get("reply_count"),
        reposts=public.get("retweet_count"),
        quotes=public.get("quote_count"),
        clicks=private.get("url_link_clicks"),
        profile_clicks=private.get("user_profile_clicks"),
        extra={k: v for k, v in extra.items() if v is not None},
    )

