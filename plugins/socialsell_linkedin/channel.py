"""The LinkedIn channel: publish as a company page or a member, read comments, reactions and
page mentions, reply as nested comments, and read post statistics.

What an account can do depends on its author type and the OAuth scopes LinkedIn granted;
:meth:`LinkedInChannel.capabilities` and :meth:`LinkedInChannel.check` say which, and which
scope is missing for the rest.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

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
    TransientError,
    UsageError,
    load_tokens,
    save_tokens,
)
from socialsell_linkedin import oauth, text
from socialsell_linkedin.client import API, DEFAULT_VERSION, RestClient, urn_path

log = logging.getLogger("socialsell.linkedin")

ORG = "urn:li:organization:"
PERSON = "urn:li:person:"
BATCH = 50  # URNs per batch request (socialMetadata, statistics, lookups)
MEMBER_METRICS = ("IMPRESSION", "MEMBERS_REACHED", "RESHARE", "REACTION", "COMMENT")

#: scope → what it unlocks, per author type (used by capabilities() and check())
ORG_SCOPES = {
    "publish": "w_organization_social",
    "reply": "w_organization_social",
    "engagements": "r_organization_social",
    "metrics": "rw_organization_admin",
}
MEMBER_SCOPES = {
    "publish": "w_member_social",
    "reply": "w_member_social",
    "engagements": "r_member_social",
    "metrics": "r_member_postAnalytics",
}
#: notification ``action`` -> where the page is mentioned. The action alone decides what the
#: notification is; an action not listed here is skipped with a log line.
MENTION_ACTIONS = {"SHARE_MENTION": "post", "COMMENT_MENTION": "comment"}
#: the URNs that name a person or a page who can be a lead
ACTOR_RE = re.compile(r"urn:li:(person|organization|member):[\w-]+")

DEFAULT_CONNECT_SCOPES = {
    "organization": ["w_organization_social", "r_organization_social", "rw_organization_admin"],
    "member": ["openid", "profile", "w_member_social"],
}


class LinkedInChannel(Channel):
    """A LinkedIn company page (``author = "urn:li:organization:N"``) or member account."""

    name = "linkedin"
    settings = (
        Setting("author", help="who posts: urn:li:organization:N (a page) or urn:li:person:ID (a member)"),
        Setting("organization_id", type=(str, int), help="the page's number, instead of author"),
        Setting("client_id", help="the LinkedIn app's client id"),
        Setting("client_secret", secret=True, help="the LinkedIn app's secret"),
        Setting("access_token", secret=True, help="a token obtained elsewhere (never refreshed)"),
        Setting("scopes", type=(list, str), help="scopes to request at connect, or granted to access_token"),
        Setting("version", type=(str, int), help="the LinkedIn-Version header"),
        Setting("redirect_port", type=int, low=0, high=65535, help="a fixed loopback port for connect"),
        Setting("lookup_people", type=bool, help="false: skip the name and headline lookup"),
    )
    label = "LinkedIn"
    max_length = 3000
    supports = Capabilities(publish=True, engagements=True, reply=True, metrics=True)
    default_poll_interval = 900
    share_modes = ("quote", "link")  # a reshare (with or without words), or a post with the link
    #: seconds ``connect`` waits for the browser to come back
    connect_timeout: float = 300.0
    #: ``connect`` opens the authorization URL in a browser (tests turn it off)
    open_browser: bool = True
    #: elements per page for posts, comments, reactions and notifications
    page_size: int = 100

    def __init__(self, account: Any):
        super().__init__(account)
        self._client: RestClient | None = None
        self._tokens: dict[str, Any] | None = None
        self._tokens_loaded = False
        self._refresh_tried = False
        self._people: dict[str, Person] = {}
        self._lookup_denied: set[str] = set()

    # -- configuration ---------------------------------------------------------------------

    @property
    def author(self) -> str:
        """Our author URN, from ``author`` or ``organization_id``."""
        author = self.account.setting("author")
        if not author and self.account.setting("organization_id"):
            author = f"{ORG}{self.account.setting('organization_id')}"
        if not isinstance(author, str) or not re.fullmatch(r"urn:li:(organization|person):[\w-]+", author):
            raise AuthError(
                f'account {self.account.name}: set author = "urn:li:organization:ID" (company page) '
                f'or "urn:li:person:ID" (member), or organization_id = ID'
            )
        return author

    @property
    def is_organization(self) -> bool:
        return self.author.startswith(ORG)

    def scopes(self) -> list[str] | None:
        """Scopes granted to the token (stored by ``connect``, or the ``scopes`` setting); None if unknown."""
        configured = oauth.parse_scopes(self.account.setting("scopes"))
        if configured is not None:
            return configured
        if self.account.setting("access_token"):
            return None
        tokens = self._stored_tokens()
        return oauth.parse_scopes(tokens.get("scopes")) if tokens else None

    # -- text ------------------------------------------------------------------------------

    def prepare(self, text_: str) -> str:
        """Little-text escaping; ``#tag`` becomes a clickable hashtag (see :mod:`.text`)."""
        return text.to_little_text(text_)

    def readable(self, prepared: str) -> str:
        """What LinkedIn shows for prepared little text (hashtag templates and escapes resolved)."""
        return text.render(prepared)

    def measure(self, text_: str) -> int:
        """Characters as LinkedIn shows them (escapes and hashtag templates resolved)."""
        return len(text.render(text_))

    # -- account ---------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        """From the author type and the granted scopes; unknown scopes assume a complete grant
        for a page and publish + reply for a member (the ordinary self-serve grant)."""
        try:
            org = self.is_organization
        except AuthError:
            return Capabilities(publish=False)
        scopes = self.scopes()
        if scopes is None:
            if org:
                return Capabilities(publish=True, engagements=True, reply=True, metrics=True)
            return Capabilities(publish=True, reply=True)
        needed = ORG_SCOPES if org else MEMBER_SCOPES
        return Capabilities(**{cap: scope in scopes for cap, scope in needed.items()})

    def check(self) -> CheckResult:
        """Ask LinkedIn who the token belongs to, and say what the account can and cannot do."""
        notes: list[str] = []
        try:
            author = self.author
            if author.startswith(ORG):
                org_id = author[len(ORG):]
                body = self.client.get(f"organizations/{org_id}")
                identity = f"{body.get('localizedName') or body.get('vanityName') or org_id} ({author})"
            else:
                body = self.client.get(f"{API}/v2/userinfo")
                identity = f"{body.get('name') or body.get('sub')} ({author})"
                if body.get("sub") and f"{PERSON}{body['sub']}" != author:
                    notes.append(f"the token belongs to {PERSON}{body['sub']}, not to the configured author {author}")
        except UsageError:  # a token file others can read: refused as bad input, with the fix
            raise
        except ChannelError as e:
            return CheckResult(ok=False, identity=None, capabilities=self.capabilities(), notes=[str(e)])
        caps = self.capabilities()
        needed = ORG_SCOPES if author.startswith(ORG) else MEMBER_SCOPES
        kind = "company page" if author.startswith(ORG) else "member"
        notes.append(f"{kind} account; can: {', '.join(caps.names()) or 'nothing'}")
        scopes = self.scopes()
        if scopes is None:
            notes.append("granted scopes unknown (token from access_token): assumed; list them with scopes = [...] to be exact")
        for cap in ("publish", "engagements", "reply", "metrics"):
            if not getattr(caps, cap):
                extra = " (restricted: LinkedIn grants it to approved partners only)" if needed[cap] in ("r_member_social",) else ""
                notes.append(f"cannot {cap}: needs scope {needed[cap]}{extra}")
        tokens = None if self.account.setting("access_token") else self._stored_tokens()
        if tokens and tokens.get("expires_at"):
            notes.append(f"access token valid until {oauth.when(tokens['expires_at'])}")
        return CheckResult(ok=True, identity=identity, capabilities=caps, notes=notes)

    def connect(self, echo: Any) -> None:
        """OAuth 2.0 authorization-code flow on a loopback redirect; stores tokens + expiry + scopes."""
        client_id = self.account.setting("client_id")
        client_secret = self.account.setting("client_secret")
        if not client_id or not client_secret:
            raise AuthError(
                f'account {self.account.name}: connect needs client_id and client_secret = {{env = "LINKEDIN_CLIENT_SECRET"}} '
                "from your LinkedIn app (developer.linkedin.com)"
            )
        scopes = oauth.parse_scopes(self.account.setting("scopes")) or DEFAULT_CONNECT_SCOPES[
            "organization" if self.is_organization else "member"
        ]
        body = oauth.authorize(
            client_id=str(client_id),
            client_secret=str(client_secret),
            scopes=scopes,
            echo=echo,
            port=int(self.account.setting("redirect_port", 0) or 0),
            timeout=self.connect_timeout,
            http_timeout=self.timeout,
            open_browser=self.open_browser,
        )
        self.request_count += 1
        if not body.get("scope"):
            body = {**body, "scope": " ".join(scopes)}
        tokens = oauth.tokens_from_response(body)
        where = save_tokens(self.account.workspace.state_dir, self.account.name, tokens)
        self._tokens, self._tokens_loaded, self._refresh_tried = tokens, True, False
        echo(f"LinkedIn tokens for {self.account.name} stored in {where}")
        echo(f"access token valid until {oauth.when(tokens.get('expires_at'))}; "
             + ("a refresh token is kept" if tokens.get("refresh_token") else "no refresh token (run connect again when it expires)"))
        echo(f"granted scopes: {' '.join(tokens.get('scopes', []))}; can: {', '.join(self.capabilities().names())}")

    # -- tokens ----------------------------------------------------------------------------

    def missing_credentials(self) -> str | None:
        """No access_token setting and no stored token from ``channels connect``."""
        if self.account.setting("access_token"):
            return None
        tokens = self._stored_tokens()
        if not tokens or not tokens.get("access_token"):
            return (f"no LinkedIn token for account {self.account.name}: run "
                    f"`socialsell channels connect {self.account.name}`")
        return None

    def _stored_tokens(self) -> dict[str, Any] | None:
        if not self._tokens_loaded:
            self._tokens = load_tokens(self.account.workspace.state_dir, self.account.name)
            self._tokens_loaded = True
        return self._tokens

    def _access_token(self) -> str:
        explicit = self.account.setting("access_token")
        if explicit:
            return str(explicit)
        tokens = self._stored_tokens()
        if not tokens or not tokens.get("access_token"):
            raise AuthError(
                f"no LinkedIn token for account {self.account.name}: run `socialsell channels connect {self.account.name}` "
                'or set access_token = {env = "LINKEDIN_TOKEN"}'
            )
        if oauth.expired(tokens) and not self._refresh():
            raise AuthError(
                f"the LinkedIn token of account {self.account.name} expired on {oauth.when(tokens.get('expires_at'))}: "
                f"run `socialsell channels connect {self.account.name}`"
            )
        return str(self._tokens["access_token"])  # type: ignore[index]

    def _refresh(self) -> bool:
        """One attempt to renew the stored access token with the refresh token."""
        tokens = self._stored_tokens()
        if self._refresh_tried or not tokens or not tokens.get("refresh_token"):
            return False
        if oauth.expired(tokens, "refresh_token_expires_at", margin=0):
            return False
        self._refresh_tried = True
        client_id, client_secret = self.account.setting("client_id"), self.account.setting("client_secret")
        if not client_id or not client_secret:
            raise AuthError(f"account {self.account.name}: refreshing the LinkedIn token needs client_id and client_secret")
        self.request_count += 1
        body = oauth.exchange(
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": str(client_id),
                "client_secret": str(client_secret),
            },
            timeout=self.timeout,
            what=f"to refresh the token of account {self.account.name} (run `socialsell channels connect {self.account.name}`)",
        )
        self._tokens = oauth.tokens_from_response(body, previous=tokens)
        save_tokens(self.account.workspace.state_dir, self.account.name, self._tokens)
        return True

    def _on_unauthorized(self) -> bool:
        return not self.account.setting("access_token") and self._refresh()

    def _secrets(self) -> list[str | None]:
        tokens = self._tokens or {}
        return [
            self.account.setting("access_token"),
            self.account.setting("client_secret"),
            tokens.get("access_token"),
            tokens.get("refresh_token"),
        ]

    @property
    def client(self) -> RestClient:
        if self._client is None:
            self._client = RestClient(
                self._access_token,
                version=str(self.account.setting("version") or DEFAULT_VERSION),
                timeout=self.timeout,
                secrets=self._secrets,
                on_unauthorized=self._on_unauthorized,
                on_request=self._count_request,
            )
        return self._client

    def _count_request(self) -> None:
        self.request_count += 1

    def _request(self, method: str, url: str, **kw: Any) -> Any:
        return self.client.request(method, url, **kw)

    def _get(self, url: str, **kw: Any) -> Any:
        return self._request("GET", url, **kw).json()

    # -- publishing ------------------------------------------------------------------------

    def _post_body(self, author: str, text_: str) -> dict[str, Any]:
        return {
            "author": author,
            "commentary": text_,
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }

    def _send_post(self, body: dict[str, Any]) -> Published:
        response = self._request("POST", "posts", body=body)
        urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id")
        if not urn:
            raise Rejected("LinkedIn accepted the post but returned no id (x-restli-id header missing)")
        return Published(remote_id=urn, url=self.post_url(urn), published_at=datetime.now(UTC))

    def share(self, target: SharedPost, text_: str, *, mode: str) -> Published:
        """A reshare (``quote``: POST /rest/posts with ``reshareContext.parent``, the rep's
        words as its commentary, which may be empty) or a post with the link (``link``)."""
        if mode == "link":
            return self.publish(text_)
        if mode != "quote" or not target.remote_id:
            raise Rejected(f"LinkedIn cannot {mode} a post (it reshares a post by its URN, or posts the link)")
        body = self._post_body(self.author, text_)
        body["reshareContext"] = {"parent": target.remote_id}
        return self._send_post(body)

    def publish(self, text_: str, *, media: Sequence[str] = ()) -> Published:
        """POST /rest/posts. ``text_`` is already little text (:meth:`prepare`)."""
        author = self.author
        body = self._post_body(author, text_)
        if media:
            images = [self._upload_image(author, path) for path in media]
            if len(images) == 1:
                body["content"] = {"media": {"id": images[0]}}
            else:
                body["content"] = {"multiImage": {"images": [{"id": i} for i in images]}}
        else:
            link = text.first_url(text_)
            if link:
                body["content"] = {"article": {"source": link, "title": _article_title(text_, link)}}
        return self._send_post(body)

    def _upload_image(self, author: str, path: str) -> str:
        """Images API: initializeUpload, then PUT the bytes; returns the image URN."""
        file = Path(path).expanduser()
        if not file.is_file():
            raise Rejected(f"image {path} does not exist")
        response = self._request(
            "POST",
            "images?action=initializeUpload",
            body={"initializeUploadRequest": {"owner": author}},
            write=False,  # nothing is published yet: a retry is safe
        )
        value = response.json().get("value", {})
        upload_url, image = value.get("uploadUrl"), value.get("image")
        if not upload_url or not image:
            raise Rejected("LinkedIn's image upload answer has no uploadUrl or image")
        self._upload_bytes(upload_url, file)
        return str(image)

    def _upload_bytes(self, url: str, file: Path) -> None:
        import requests  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        self.request_count += 1
        try:
            response = requests.put(
                url,
                data=file.read_bytes(),
                headers={"Authorization": f"Bearer {self._access_token()}", "Content-Type": content_type},
                timeout=self.timeout,
            )
        except requests.exceptions.RequestException as e:
            raise TransientError(f"uploading {file.name} to LinkedIn failed ({type(e).__name__})") from None
        if not response.ok:
            self.client.raise_for(response, "PUT", url, write=False)

    def find_recent_posts(self, since: datetime) -> list[RemotePost]:
        """GET /rest/posts?q=author: our posts created at or after ``since``, newest first.

        ``text`` is LinkedIn's ``commentary``: the little text that was sent.
        """
        author = self.author
        since_ms = since.timestamp() * 1000
        found: list[RemotePost] = []
        url = f"posts?q=author&author={urn_path(author)}&sortBy=LAST_MODIFIED"
        for page in self._pages(url, headers={"X-RestLi-Method": "FINDER"}, limit=10):
            older = False
            for post in page:
                created = post.get("createdAt") or post.get("publishedAt")
                if created is not None and created < since_ms:
                    older = True
                    continue
                urn = post.get("id")
                found.append(RemotePost(remote_id=urn, text=post.get("commentary", ""),
                                        created_at=_ms(created), url=self.post_url(urn),
                                        shares=(post.get("reshareContext") or {}).get("parent")))
            if older:
                break
        found.sort(key=lambda p: p.created_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        return found

    def post_url(self, remote_id: str) -> str | None:
        return f"https://www.linkedin.com/feed/update/{remote_id}/"

    # -- engagements -----------------------------------------------------------------------

    def fetch_engagements(
        self, cursor: str | None, posts: Sequence[OurPost]
    ) -> tuple[list[Engagement], str | None]:
        """Comments (and nested replies), reactions and, for a page, mentions since ``cursor``.

        The cursor keeps, per post inside the window, the comment and reaction counts of the
        last poll and the ids already returned. One batched ``socialMetadata`` call per 50
        posts tells which posts changed; only those are read further.
        """
        if not self.capabilities().engagements:
            return [], cursor
        state = _load_cursor(cursor)
        previous_posts: dict[str, Any] = state.get("posts", {})
        kept: dict[str, Any] = {}
        found: list[Engagement] = []
        urns = list(dict.fromkeys(p.remote_id for p in posts))
        metadata = self._social_metadata(urns)
        for urn in urns:
            previous = previous_posts.get(urn, {})
            entry = {
                "c": previous.get("c", 0),
                "r": previous.get("r", 0),
                "seen": set(previous.get("seen", [])),
                "n": dict(previous.get("n", {})),
            }
            comments, reactions = _counts(metadata.get(urn))
            if comments is None or comments != entry["c"]:
                found += self._new_comments(urn, entry)
                entry["c"] = comments if comments is not None else entry["c"]
            if reactions is None or reactions != entry["r"]:
                found += self._new_reactions(urn, reactions, entry["seen"])
                entry["r"] = reactions if reactions is not None else entry["r"]
            entry["seen"] = sorted(entry["seen"])
            kept[urn] = entry  # posts that left the window are dropped from the cursor
        state["posts"] = kept
        if self.is_organization:
            found += self._new_mentions(state)
        # our own comments (replies a rep sent) and reactions are read back too: never a lead
        found = [e for e in found if e.person.external_id != self.author]
        self._describe_people(found)
        return found, json.dumps(state, separators=(",", ":"), sort_keys=True)

    def _social_metadata(self, urns: list[str]) -> dict[str, dict[str, Any]]:
        results: dict[str, dict[str, Any]] = {}
        for i in range(0, len(urns), BATCH):
            chunk = urns[i : i + BATCH]
            body = self._get(f"socialMetadata?ids=List({','.join(urn_path(u) for u in chunk)})")
            results.update(body.get("results", {}))
        return results

    def _pages(self, url: str, *, headers: dict[str, str] | None = None, limit: int = 100) -> Iterator[list[dict[str, Any]]]:
        """The pages of a start/count paged collection, until one is short or ``paging.total`` is reached."""
        start = 0
        sep = "&" if "?" in url else "?"
        for _ in range(limit):
            body = self._get(f"{url}{sep}start={start}&count={self.page_size}", headers=headers)
            elements = body.get("elements", [])
            yield elements
            start += len(elements)
            total = (body.get("paging") or {}).get("total")
            if len(elements) < self.page_size or (total is not None and start >= total):
                return

    def _new_comments(self, post: str, entry: dict[str, Any]) -> list[Engagement]:
        seen: set[str] = entry["seen"]
        found = []
        for page in self._pages(f"socialActions/{urn_path(post)}/comments"):
            for comment in page:
                cid = _comment_urn(comment)
                if cid not in seen:
                    seen.add(cid)
                    found += self._comment_engagement(post, comment, None)
                summary = comment.get("commentsSummary") or {}
                nested = summary.get("aggregatedTotalComments", summary.get("totalFirstLevelComments", 0))
                if nested and nested != entry["n"].get(cid):
                    for replies in self._pages(f"socialActions/{urn_path(cid)}/comments"):
                        for reply in replies:
                            rid = _comment_urn(reply)
                            if rid not in seen:
                                seen.add(rid)
                                found += self._comment_engagement(post, reply, cid)
                    entry["n"][cid] = nested
        return found

    def _comment_engagement(self, post: str, comment: dict[str, Any], parent: str | None) -> list[Engagement]:
        """The comment as an engagement; none when LinkedIn did not say who wrote it."""
        cid = _comment_urn(comment)
        created = comment.get("created") or {}
        actor = _actor(comment.get("actor"), created.get("actor"))
        if actor is None:
            log.warning("%s: skipped comment %s on %s: LinkedIn did not say who wrote it", self.account.name, cid, post)
            return []
        return [Engagement(
            external_id=cid,
            kind="reply" if parent else "comment",
            person=Person(handle=actor, external_id=actor),
            occurred_at=_ms(created.get("time")) or self.clock(),
            text=(comment.get("message") or {}).get("text"),
            url=_comment_url(post, cid),
            post_remote_id=post,
            in_reply_to=parent,
            raw={"comment_urn": cid, "object": comment.get("object"), "parent_comment": parent},
        )]

    def _new_reactions(self, post: str, total: int | None, seen: set[str]) -> list[Engagement]:
        found: list[Engagement] = []
        known = sum(1 for s in seen if s.startswith("urn:li:reaction:"))
        url = f"reactions/(entity:{urn_path(post)})?q=entity&sort=(value:REVERSE_CHRONOLOGICAL)"
        skipped = 0
        for page in self._pages(url):
            for reaction in page:
                created = reaction.get("created") or {}
                # a reaction's id is urn:li:reaction:(<actor>,<post>): it names the actor too
                actor = _actor(created.get("actor"), reaction.get("actor"), _reaction_actor(reaction.get("id")))
                if actor is None:
                    skipped += 1
                    log.warning("%s: skipped a reaction on %s: LinkedIn did not say who reacted", self.account.name, post)
                    continue
                rid = reaction.get("id") or f"urn:li:reaction:({actor},{post})"
                if rid in seen:
                    continue
                seen.add(rid)
                rtype = reaction.get("reactionType", "LIKE")
                found.append(Engagement(
                    external_id=rid,
                    kind="like",
                    person=Person(handle=actor, external_id=actor),
                    occurred_at=_ms(created.get("time")) or self.clock(),
                    url=self.post_url(post),
                    post_remote_id=post,
                    raw={"reaction_type": rtype},
                ))
            # newest first: once every reaction the count announces is known, stop paging
            if total is not None and known + len(found) + skipped >= total:
                break
        return found

    def _new_mentions(self, state: dict[str, Any]) -> list[Engagement]:
        """Page mentions (in posts and in comments) since the last poll's newest notification."""
        if not self.capabilities().metrics:  # the notifications API needs rw_organization_admin
            return []
        org = self.author
        window = self.account.engagement_window_days * 86400
        since = int(state.get("mentions_since") or (self.clock().timestamp() - window) * 1000)
        newest = since
        found: list[Engagement] = []
        url = (
            f"organizationalEntityNotifications?q=criteria&actions=List({','.join(MENTION_ACTIONS)})"
            f"&organizationalEntity={urn_path(org)}&timeRange=(start:{since + 1},end:{int(self.clock().timestamp() * 1000)})"
        )
        for page in self._pages(url):
            for note in page:
                newest = max(newest, int(note.get("lastModifiedAt") or 0))
                engagement = self._mention(note)
                if engagement is not None:
                    found.append(engagement)
        state["mentions_since"] = newest
        return found

    def _mention(self, note: dict[str, Any]) -> Engagement | None:
        """One notification as a ``mention``; None (logged) when it cannot be one.

        Its ``action`` says what it is: SHARE_MENTION, a post that mentions the page (the
        author is the post's owner); COMMENT_MENTION, a comment that mentions it (the author
        is the comment's owner, never the owner of the post it is under). Without the author
        it is skipped: a shared placeholder would merge strangers into one lead.
        """
        action = note.get("action")
        at = int(note.get("lastModifiedAt") or 0)
        where = MENTION_ACTIONS.get(str(action))
        if where is None:
            log.info("%s: skipped a LinkedIn notification with action %r: not a mention", self.account.name, action)
            return None
        activity = note.get("decoratedGeneratedActivity") or {}
        source = note.get("sourcePost")
        generated = note.get("generatedActivity")
        if where == "comment":
            detail = activity.get("mention") or activity.get("comment") or {}
            comment = _first_urn((generated, detail.get("entity")), comment=True)
            target = comment
        else:
            detail = activity.get("mention") or activity.get("share") or note.get("decoratedSourcePost") or {}
            comment = None
            target = _first_urn((generated, source, detail.get("entity")), comment=False)
            source = source or target
        if not target:
            log.warning("%s: skipped a LinkedIn %s notification at %s: it names no %s",
                        self.account.name, action, _ms(at), where)
            return None
        actor = _actor(detail.get("owner"), detail.get("actor"), note.get("actor"))
        if actor is None:
            log.warning("%s: skipped the LinkedIn %s %s: LinkedIn did not say who wrote it",
                        self.account.name, action, target)
            return None
        return Engagement(
            external_id=str(target),
            kind="mention",
            person=Person(handle=actor, external_id=actor),
            occurred_at=_ms(at) or self.clock(),
            text=detail.get("text"),
            url=_comment_url(source, comment) if comment and source else (self.post_url(source) if source else None),
            post_remote_id=None,
            raw={"action": action, "source_post": source, "comment_urn": comment},
        )

    def _describe_people(self, engagements: list[Engagement]) -> None:
        """Names, vanity names and headlines in two batched lookups (members, organizations).

        A lookup LinkedIn denies (403: the app lacks the profile permission) is not retried by
        this channel; handles then stay the actor URNs.
        """
        wanted = {e.person.handle for e in engagements} - set(self._people)
        members = sorted(u for u in wanted if u.startswith(PERSON))
        orgs = sorted(u for u in wanted if u.startswith(ORG))
        if self.account.setting("lookup_people", True) is not False:
            self._lookup(members, "people", lambda u: f"(id:{u[len(PERSON):]})", _member_person)
            self._lookup(orgs, "organizationsLookup", lambda u: u[len(ORG):], _org_person)
        for e in engagements:
            known = self._people.get(e.person.handle)
            if known is not None:
                e.person = Person(**vars(known))

    def _lookup(self, urns: list[str], resource: str, key: Any, build: Any) -> None:
        if not urns or resource in self._lookup_denied:
            return
        for i in range(0, len(urns), BATCH):
            chunk = urns[i : i + BATCH]
            try:
                body = self._get(f"{resource}?ids=List({','.join(key(u) for u in chunk)})")
            except Rejected:
                self._lookup_denied.add(resource)
                return
            results = body.get("results", {})
            for urn in chunk:
                found = results.get(key(urn)) or results.get(urn.rsplit(":", 1)[1])
                if found:
                    self._people[urn] = build(urn, found)

    # -- replies ---------------------------------------------------------------------------

    def search(self, query: SearchQuery, cursor: str | None, *, limit: int) -> SearchPage:
        """LinkedIn cannot: its API offers apps no search of members' posts (``supports`` says
        ``search=False``, so a ``[[listen]]`` stream on a LinkedIn account is refused by ``run``)."""
        raise Rejected("LinkedIn cannot search: its API offers no search of members' posts to apps; "
                       "listen on X or Bluesky instead")

    def reply(self, engagement: Engagement, text_: str) -> Published:
        """A nested comment under the engagement's comment (or a comment on a mentioning post).

        Needs ``kind``, ``external_id`` (the comment URN), ``post_remote_id`` (or, for a mention,
        ``raw["source_post"]`` or the post named in ``url``) and, for a ``reply``,
        ``in_reply_to``: LinkedIn nests one level, so an answer to a nested reply goes under
        the same top-level comment. Comment text is plain text (no little-text escaping).
        """
        post = engagement.post_remote_id or engagement.raw.get("source_post") or _post_in_url(engagement.url)
        url = engagement.url or (self.post_url(post) if post else None)
        if engagement.kind == "like" or not post:
            raise ReplyNotAllowed("there is nothing to reply to on LinkedIn: reply to a comment or a mention", url=url)
        if not self.capabilities().reply:
            needed = (ORG_SCOPES if self.is_organization else MEMBER_SCOPES)["reply"]
            raise ReplyNotAllowed(f"this LinkedIn account cannot comment (needs scope {needed}): reply on linkedin.com", url=url)
        comment = engagement.external_id if engagement.external_id.startswith("urn:li:comment:") else None
        if engagement.kind == "reply":
            parent = engagement.in_reply_to or engagement.raw.get("parent_comment") or comment
        else:
            parent = comment or engagement.raw.get("comment_urn")
        body: dict[str, Any] = {"actor": self.author, "object": post, "message": {"text": text_}}
        if parent:
            body["parentComment"] = parent
        response = self._request("POST", f"socialActions/{urn_path(parent or post)}/comments", body=body)
        try:
            created = response.json()
        except ValueError:
            created = {}
        cid = created.get("commentUrn") or _comment_urn_from(post, response.headers.get("x-restli-id"))
        return Published(remote_id=cid, url=_comment_url(post, cid), published_at=self.clock())

    # -- metrics ---------------------------------------------------------------------------

    def fetch_metrics(self, remote_ids: Sequence[str]) -> list[Metrics]:
        """Page share statistics, or member post analytics; [] when the account has no access."""
        if not remote_ids or not self.capabilities().metrics:
            return []
        if self.is_organization:
            return self._org_metrics(list(remote_ids))
        return [self._member_metrics(urn) for urn in remote_ids]

    def _org_metrics(self, urns: list[str]) -> list[Metrics]:
        org = self.author
        out: list[Metrics] = []
        shares = [u for u in urns if u.startswith("urn:li:share:")]
        ugc = [u for u in urns if not u.startswith("urn:li:share:")]
        for name, group in (("shares", shares), ("ugcPosts", ugc)):
            for i in range(0, len(group), BATCH):
                chunk = group[i : i + BATCH]
                body = self._get(
                    f"organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={urn_path(org)}"
                    f"&{name}=List({','.join(urn_path(u) for u in chunk)})"
                )
                for element in body.get("elements", []):
                    urn = element.get("share") or element.get("ugcPost")
                    stats = element.get("totalShareStatistics") or {}
                    if not urn:
                        continue
                    out.append(Metrics(
                        remote_id=urn,
                        impressions=stats.get("impressionCount"),
                        reach=stats.get("uniqueImpressionsCount"),
                        clicks=stats.get("clickCount"),
                        likes=stats.get("likeCount"),
                        replies=stats.get("commentCount"),
                        reposts=stats.get("shareCount"),
                        extra={k: v for k, v in stats.items() if k in ("engagement", "commentMentionsCount", "shareMentionsCount")},
                    ))
        return out

    def _member_metrics(self, urn: str) -> Metrics:
        kind = "share" if urn.startswith("urn:li:share:") else "ugcPost"
        counts: dict[str, int | None] = {}
        for metric in MEMBER_METRICS:
            body = self._get(
                f"memberCreatorPostAnalytics?q=entity&entity=({kind}:{urn_path(urn)})&queryType={metric}&aggregation=TOTAL"
            )
            elements = body.get("elements", [])
            counts[metric] = elements[0].get("count") if elements else None
        return Metrics(
            remote_id=urn,
            impressions=counts["IMPRESSION"],
            reach=counts["MEMBERS_REACHED"],
            likes=counts["REACTION"],
            replies=counts["COMMENT"],
            reposts=counts["RESHARE"],
        )


# --- helpers --------------------------------------------------------------------------------


def _ms(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def _load_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {"v": 1, "posts": {}}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {"v": 1, "posts": {}}
    return state if isinstance(state, dict) and state.get("v") == 1 else {"v": 1, "posts": {}}


def _actor(*candidates: Any) -> str | None:
    """The first candidate that is a person's or a page's URN: who engaged, or None."""
    return next((str(c) for c in candidates if isinstance(c, str) and ACTOR_RE.fullmatch(c)), None)


def _first_urn(candidates: Sequence[Any], *, comment: bool) -> str | None:
    """The first URN among ``candidates`` that names a comment (``comment``) or else a post."""
    for c in candidates:
        if isinstance(c, str) and c.startswith("urn:li:") and c.startswith("urn:li:comment:") == comment:
            return c
    return None


def _reaction_actor(reaction_id: Any) -> str | None:
    m = re.fullmatch(r"urn:li:reaction:\((urn:li:[A-Za-z]+:[\w-]+),.*\)", reaction_id) if isinstance(reaction_id, str) else None
    return m.group(1) if m else None


def _counts(meta: dict[str, Any] | None) -> tuple[int | None, int | None]:
    """(comments including replies, reactions) from a socialMetadata record."""
    if meta is None:
        return None, None
    comments = (meta.get("commentSummary") or {}).get("count")
    reactions = sum(int(r.get("count", 0)) for r in (meta.get("reactionSummaries") or {}).values())
    return comments, reactions


def _comment_urn(comment: dict[str, Any]) -> str:
    if comment.get("commentUrn"):
        return str(comment["commentUrn"])
    return _comment_urn_from(comment.get("object"), comment.get("id"))


def _comment_urn_from(obj: str | None, cid: Any) -> str:
    if isinstance(cid, str) and cid.startswith("urn:li:comment:"):
        return cid
    return f"urn:li:comment:({obj},{cid})"


def _comment_url(post: str, comment: str) -> str:
    return f"https://www.linkedin.com/feed/update/{post}/?commentUrn={quote(comment, safe='')}"


def _post_in_url(url: str | None) -> str | None:
    m = re.search(r"/feed/update/(urn:li:[A-Za-z]+:[0-9A-Za-z_-]+)", url or "")
    return m.group(1) if m else None


def _article_title(little: str, link: str) -> str:
    """A title for the link preview: the words before the link (else after it), else its host."""
    rendered = text.render(little)
    before, _, after = rendered.partition(link)
    for part in (before.splitlines()[-1:] if before.strip() else []) + after.splitlines():
        line = " ".join(part.split()).strip(" -–—:|").strip()
        if line and not line.startswith(("http://", "https://")):
            return line[:200]
    return urlsplit(link).netloc or link


def _member_person(urn: str, found: dict[str, Any]) -> Person:
    name = " ".join(p for p in (found.get("localizedFirstName"), found.get("localizedLastName")) if p) or None
    vanity = found.get("vanityName")
    return Person(
        handle=vanity or urn,
        name=name,
        external_id=urn,
        profile_url=f"https://www.linkedin.com/in/{vanity}/" if vanity else None,
        headline=found.get("localizedHeadline"),
        kind="person",
    )


def _org_person(urn: str, found: dict[str, Any]) -> Person:
    vanity = found.get("vanityName")
    return Person(
        handle=vanity or urn,
        name=found.get("localizedName"),
        external_id=urn,
        profile_url=f"https://www.linkedin.com/company/{vanity or urn.rsplit(':', 1)[1]}/",
        headline=found.get("localizedDescription"),
        company=found.get("localizedName"),
        kind="organization",
    )
