"""A fake Bluesky PDS behind ``httpx.MockTransport``: the atproto client runs for real and every
XRPC call it makes is answered here, as bsky.social answers it (the parts socialsell uses)."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

DID = "did:plc:acmeacmeacmeacmeacme0001"
HANDLE = "acme.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt(sub: str, seconds: int, scope: str = "com.atproto.appPass") -> str:
    """A token atproto can read (it checks ``exp``, never the signature); now is the process's clock."""
    now = int(time.time())
    return f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'scope': scope, 'sub': sub, 'iat': now, 'exp': now + seconds, 'jti': str(now) + str(time.perf_counter_ns())})}.c2ln"


def now_iso() -> str:
    """The fake server's own time for records it stamps (a PDS's clock, not socialsell's)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FakeBluesky:
    """The network: our repo, other people, notifications, and faults queued by tests."""

    def __init__(self) -> None:
        self.password = APP_PASSWORD
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.posts: list[dict[str, Any]] = []  # our posts, oldest first
        self.others: list[dict[str, Any]] = []  # other accounts' posts (a brand post a rep shares)
        self.reposts: list[dict[str, Any]] = []  # our repost records, oldest first
        self.notifications: list[dict[str, Any]] = []  # oldest first
        self.public: list[dict[str, Any]] = []  # anyone's public posts, for search; newest first
        self.searches: list[dict[str, Any]] = []  # the parameters of each searchPosts call
        self.served = 0  # posts searchPosts returned
        self.people = {"dana.bsky.social": "did:plc:dana0000000000000000000"}
        self.faults: list[str] = []
        self.requests: list[httpx.Request] = []
        self.counts: dict[str, dict[str, int]] = {}
        self.next = 1
        self.access_seconds = 7200
        self.last_reset: int | None = None
        self.transport = httpx.MockTransport(self.handle)

    # -- what tests do -------------------------------------------------------------------------

    def fail_next(self, kind: str) -> None:
        if kind not in ("rate_limit", "server_error", "timeout_after_send", "auth"):
            raise NotImplementedError(f"the fake PDS cannot simulate {kind!r}")
        if kind == "auth":  # the app password was revoked: sessions and the password stop working
            self.password, self.access, self.refresh = "revoked", set(), set()
            return
        self.faults.append(kind)

    def _rkey(self) -> str:
        self.next += 1
        return f"3l{self.next:011d}"

    def _person(self, handle: str) -> dict[str, Any]:
        handle = handle.lstrip("@")
        did = self.people.setdefault(handle, f"did:plc:{handle.split('.')[0][:12]:0<24}")
        return {"did": did, "handle": handle, "displayName": handle.split(".")[0].title(), "description": "Ops lead",
                "labels": [], "viewer": {}}

    def say(self, handle: str, text: str, at: datetime | None = None, lang: str = "en") -> str:
        """Someone posts in public (what a listening stream searches); the post's URI."""
        author = self._person(handle)
        uri = f"at://{author['did']}/app.bsky.feed.post/{self._rkey()}"
        stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z") if at else now_iso()
        self.public.insert(0, {"uri": uri, "cid": f"bafyrei{self._rkey()}", "author": author, "indexedAt": stamp,
                               "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": stamp, "langs": [lang]},
                               "labels": []})
        self.public.sort(key=lambda p: p["indexedAt"], reverse=True)
        return uri

    def engage(self, remote_id: str | None, kind: str, handle: str, text: str | None) -> str:
        """Someone reacts to our post ``remote_id`` (an at:// URI); the notification's URI."""
        author = self._person(handle)
        post = next((p for p in self.posts if p["uri"] == remote_id), None)
        collection = {"like": "app.bsky.feed.like", "repost": "app.bsky.feed.repost", "follow": "app.bsky.graph.follow"}.get(kind, "app.bsky.feed.post")
        uri = f"at://{author['did']}/{collection}/{self._rkey()}"
        at = now_iso()
        record: dict[str, Any]
        if kind in ("like", "repost"):
            record = {"$type": collection, "subject": {"uri": post["uri"], "cid": post["cid"]}, "createdAt": at}
        elif kind == "follow":
            record = {"$type": collection, "subject": DID, "createdAt": at}
        else:
            record = {"$type": "app.bsky.feed.post", "text": text or "", "createdAt": at, "langs": ["en"]}
            if kind == "reply" and post:
                ref = {"uri": post["uri"], "cid": post["cid"]}
                record["reply"] = {"root": ref, "parent": ref}
            if kind == "quote" and post:
                record["embed"] = {"$type": "app.bsky.embed.record", "record": {"uri": post["uri"], "cid": post["cid"]}}
        reason = {"comment": "reply"}.get(kind, kind)
        item = {"uri": uri, "cid": f"bafyrei{self._rkey()}", "author": author, "reason": reason, "record": record,
                "isRead": False, "indexedAt": at, "labels": []}
        if kind in ("like", "repost") and post:
            item["reasonSubject"] = post["uri"]
        self.notifications.append(item)
        if post and kind in ("like", "repost", "reply", "quote"):
            field = {"like": "likeCount", "repost": "repostCount", "reply": "replyCount", "quote": "quoteCount"}[kind]
            post[field] = post.get(field, 0) + 1
        return uri

    def post_by(self, handle: str, text: str) -> str:
        """Another account (the brand's) posts ``text``; its at:// URI."""
        author = self._person(handle)
        uri = f"at://{author['did']}/app.bsky.feed.post/{self._rkey()}"
        self.others.append({"uri": uri, "cid": f"bafyrei{self._rkey()}", "author": author, "indexedAt": now_iso(),
                            "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": now_iso()}})
        return uri

    # -- the HTTP side ---------------------------------------------------------------------------

    def x_app_bsky_feed_searchPosts(self, body, params, request):
        """Post search: newest first, ``since`` inclusive, ``lang``, ``limit``, an offset cursor."""
        self.searches.append(params)
        q = params["q"].strip('"').lower()
        pool = [p for p in self.public if q in p["record"]["text"].lower()
                and (not params.get("lang") or params["lang"] in p["record"]["langs"])
                and (not params.get("since") or p["indexedAt"] >= params["since"].replace("+00:00", ".000Z"))]
        start, limit = int(params.get("cursor") or 0), int(params.get("limit") or 25)
        page = pool[start:start + limit]
        self.served += len(page)
        answer: dict = {"posts": page}
        if start + limit < len(pool):
            answer["cursor"] = str(start + limit)
        return httpx.Response(200, json=answer)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        nsid = request.url.path.removeprefix("/xrpc/")
        fault = self.faults[0] if self.faults else None
        if fault == "rate_limit":
            self.faults.pop(0)
            # ratelimit-reset is epoch seconds on the server's clock, as Bluesky sends it
            reset = self.last_reset = int(time.time()) + 120
            return httpx.Response(429, json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                                  headers={"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)})
        if fault == "server_error":
            self.faults.pop(0)
            return httpx.Response(500, json={"error": "InternalServerError", "message": "Internal Server Error"})
        handler = getattr(self, "x_" + nsid.replace(".", "_"), None)
        if handler is None:
            return httpx.Response(501, json={"error": "MethodNotImplemented", "message": f"{nsid} is not faked"})
        if nsid not in ("com.atproto.server.createSession", "com.atproto.server.refreshSession"):
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.access:
                return httpx.Response(400 if token in self.refresh or token else 401,
                                      json={"error": "ExpiredToken" if token else "AuthenticationRequired",
                                            "message": "Token has expired" if token else "Authentication Required"})
        body = json.loads(request.content) if request.content and request.headers.get("content-type", "").startswith("application/json") else {}
        params = {k: v if len(v) > 1 or k == "uris" else v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        answer = handler(body, params, request)
        if fault == "timeout_after_send" and nsid == "com.atproto.repo.createRecord":
            self.faults.pop(0)
            raise httpx.ReadTimeout("timed out reading the answer", request=request)  # the write was applied
        return answer

    def _session(self) -> dict[str, Any]:
        access, refresh = jwt(DID, self.access_seconds), jwt(DID, 90 * 86400, "com.atproto.refresh")
        self.access.add(access)
        self.refresh.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh, "handle": HANDLE, "did": DID, "active": True}

    def x_com_atproto_server_createSession(self, body, params, request):
        if body.get("identifier") not in (HANDLE, DID) or body.get("password") != self.password:
            return httpx.Response(401, json={"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
        return httpx.Response(200, json=self._session())

    def x_com_atproto_server_refreshSession(self, body, params, request):
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.refresh:
            return httpx.Response(400, json={"error": "ExpiredToken", "message": "Token has been revoked"})
        self.refresh.discard(token)  # refresh tokens rotate
        return httpx.Response(200, json=self._session())

    def x_app_bsky_actor_getProfile(self, body, params, request):
        return httpx.Response(200, json={"did": DID, "handle": HANDLE, "displayName": "Acme", "followersCount": 1200,
                                         "followsCount": 10, "postsCount": len(self.posts), "labels": []})

    def x_com_atproto_identity_resolveHandle(self, body, params, request):
        did = self.people.get(params["handle"]) if params["handle"] != HANDLE else DID
        if did is None:
            return httpx.Response(400, json={"error": "InvalidRequest", "message": "Unable to resolve handle"})
        return httpx.Response(200, json={"did": did})

    def x_com_atproto_repo_uploadBlob(self, body, params, request):
        return httpx.Response(200, json={"blob": {"$type": "blob", "ref": {"$link": "bafkreiblob" + self._rkey()},
                                                  "mimeType": "image/png", "size": len(request.content)}})

    def x_com_atproto_repo_createRecord(self, body, params, request):
        if body.get("repo") != DID:
            return httpx.Response(400, json={"error": "InvalidRequest", "message": "repo is not the session's"})
        record = body["record"]
        uri = f"at://{DID}/{body['collection']}/{self._rkey()}"
        cid = f"bafyrei{self._rkey()}"
        if body["collection"] == "app.bsky.feed.repost":
            subject = next((p for p in self.posts + self.others if p["uri"] == record["subject"]["uri"]), None)
            if subject is None or subject["cid"] != record["subject"]["cid"]:
                return httpx.Response(400, json={"error": "InvalidRequest", "message": "Could not locate record"})
            subject["repostCount"] = subject.get("repostCount", 0) + 1
            self.reposts.append({"uri": uri, "cid": cid, "record": record, "indexedAt": now_iso()})
        else:
            self.posts.append({"uri": uri, "cid": cid, "record": record, "indexedAt": now_iso()})
        return httpx.Response(200, json={"uri": uri, "cid": cid, "validationStatus": "valid"})

    def _post_view(self, post: dict[str, Any]) -> dict[str, Any]:
        author = post.get("author") or {"did": DID, "handle": HANDLE}
        return {"uri": post["uri"], "cid": post["cid"], "author": {"did": author["did"], "handle": author["handle"], "labels": []},
                "record": post["record"], "indexedAt": post["indexedAt"], "likeCount": post.get("likeCount", 0),
                "repostCount": post.get("repostCount", 0), "replyCount": post.get("replyCount", 0),
                "quoteCount": post.get("quoteCount", 0), "labels": []}

    def x_app_bsky_feed_getAuthorFeed(self, body, params, request):
        ours = {p["uri"] for p in self.posts}

        def shown(post):  # posts_and_author_threads: our posts, and our replies within our own threads
            reply = post["record"].get("reply")
            if reply is None:
                return True
            if params.get("filter") == "posts_no_replies":
                return False
            return params.get("filter") != "posts_and_author_threads" or reply["parent"]["uri"] in ours

        subjects = {p["uri"]: p for p in self.posts + self.others}
        items = [(p["indexedAt"], {"post": self._post_view(p)}) for p in reversed(self.posts) if shown(p)]
        items += [(r["indexedAt"], {"post": self._post_view(subjects[r["record"]["subject"]["uri"]]), "reason": {
            "$type": "app.bsky.feed.defs#reasonRepost", "by": {"did": DID, "handle": HANDLE, "labels": []},
            "indexedAt": r["indexedAt"], "uri": r["uri"], "cid": r["cid"]}}) for r in reversed(self.reposts)]
        mine = [item for _, item in sorted(items, key=lambda i: i[0], reverse=True)]  # newest first (stable)
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 50)
        answer: dict[str, Any] = {"feed": mine[start:start + limit]}
        if start + limit < len(mine):
            answer["cursor"] = str(start + limit)
        return httpx.Response(200, json=answer)

    def x_app_bsky_feed_getPosts(self, body, params, request):
        uris = params.get("uris") or []
        uris = [uris] if isinstance(uris, str) else uris
        return httpx.Response(200, json={"posts": [self._post_view(p) for p in self.posts + self.others if p["uri"] in uris]})

    def x_app_bsky_notification_listNotifications(self, body, params, request):
        newest_first = list(reversed(self.notifications))
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 50)
        answer: dict[str, Any] = {"notifications": newest_first[start:start + limit]}
        if start + limit < len(newest_first):
            answer["cursor"] = str(start + limit)
        return httpx.Response(200, json=answer)
