"""The sandbox network: a JSON timeline in the workspace, guarded by a file lock.

Several workers may share one sandbox account: every change happens under ``fcntl.flock``
and is written atomically (write, fsync, rename), so the timeline is as trustworthy as a
real network's. Faults can be queued (``socialsell sandbox fault``) to try the loop's
behaviour under 429s, 5xx, timeouts and lost responses.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from socialsell.api import (
    AuthError,
    Capabilities,
    Channel,
    CheckResult,
    DuplicateContent,
    Engagement,
    Found,
    Metrics,
    OurPost,
    Person,
    Published,
    RateLimited,
    Rejected,
    RemotePost,
    SearchPage,
    SearchQuery,
    Setting,
    SharedPost,
    TransientError,
)

BEFORE_SEND = ("rate_limit", "server_error", "timeout_before_send", "auth", "reject")
POLL_FAULTS = ("rate_limit", "server_error", "auth")  # also for searches
#: how far back a first search looks (as X's recent search: seven days)
SEARCH_WINDOW = timedelta(days=7)
FAULTS = ("rate_limit", "server_error", "timeout_before_send", "timeout_after_send", "auth", "reject", "crash_after_send")


class SandboxChannel(Channel):
    name = "sandbox"
    label = "Sandbox"
    max_length = 500
    supports = Capabilities(publish=True, engagements=True, reply=True, metrics=True, search=True)
    default_poll_interval = 60
    timeout = 5.0
    share_modes = ("repost", "quote", "link")
    settings = (
        Setting("seed", type=(str, int), default="socialsell", help="the simulated audience's random seed"),
        Setting("audience", type=bool, default=True, help="false: nobody reacts to what is published"),
        Setting("latency", type=float, default=0.0, low=0, high=60, help="seconds each simulated request takes"),
        Setting("token", secret=True, help="a secret it never needs: shows how secrets are kept out of output"),
    )

    def __init__(self, account):
        super().__init__(account)
        self.seed = str(account.settings.get("seed", "socialsell"))
        self.audience = bool(account.settings.get("audience", True))
        self.latency = float(account.settings.get("latency", 0))

    # -- state ---------------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        folder = self.account.workspace.state_dir / "sandbox"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{self.account.name}.json"

    @contextlib.contextmanager
    def state(self, write: bool = True) -> Iterator[dict[str, Any]]:
        lock_path = self.path.with_suffix(".lock")
        with open(lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
            data = json.loads(self.path.read_text()) if self.path.exists() else {}
            data.setdefault("posts", [])
            data.setdefault("inbox", [])
            data.setdefault("faults", [])
            data.setdefault("poll_faults", [])
            data.setdefault("next_id", 1)
            data.setdefault("public", [])
            yield data
            if write:
                tmp = self.path.with_suffix(".tmp")
                with open(tmp, "w") as f:
                    json.dump(data, f)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)

    def queue_fault(self, fault: str, count: int = 1, *, on: str = "publish") -> None:
        """Make the next ``count`` calls of ``on`` (``publish`` or ``poll``) fail with ``fault``."""
        allowed = FAULTS if on == "publish" else POLL_FAULTS
        if on not in ("publish", "poll"):
            raise Rejected(f"faults apply to publish or poll, not {on!r}")
        if fault not in allowed:
            raise Rejected(f"unknown fault {fault!r} for {on} (one of {', '.join(allowed)})")
        with self.state() as s:
            s["faults" if on == "publish" else "poll_faults"].extend([fault] * count)

    def inject(self, *, post_id: str | None, kind: str, handle: str, text: str | None, name: str | None = None,
               headline: str | None = None, at: datetime | None = None) -> str:
        """An engagement by hand (``socialsell sandbox engage``); returns its id."""
        at = at or self.clock()
        with self.state() as s:
            if post_id is not None and not any(p["id"] == post_id for p in s["posts"]):
                raise Rejected(f"the sandbox has no post {post_id!r} (published posts: {', '.join(p['id'] for p in s['posts'][-5:]) or 'none'})")
            ext = f"m{s['next_id']}"
            s["next_id"] += 1
            s["inbox"].append({"id": ext, "post_id": post_id, "kind": kind, "handle": handle, "name": name,
                               "headline": headline, "text": text, "at": at.isoformat()})
        return ext

    def say(self, *, handle: str, text: str, name: str | None = None, headline: str | None = None,
            lang: str = "en", at: datetime | None = None) -> str:
        """A public post by someone (``socialsell sandbox say``), for listening to find; its id."""
        at = at or self.clock()
        with self.state() as s:
            ext = f"q{s['next_id']}"
            s["next_id"] += 1
            s["public"].append({"id": ext, "handle": handle, "name": name, "headline": headline, "text": text,
                                "lang": lang, "at": at.isoformat()})
        return ext

    # -- Channel -----------------------------------------------------------------------------

    def check(self) -> CheckResult:
        return CheckResult(ok=True, identity=f"@{self.account.name} (sandbox)", capabilities=self.capabilities(),
                           notes=["a simulated network in this workspace: nothing leaves this machine"])

    def post_url(self, remote_id: str) -> str:
        return f"sandbox://{self.account.name}/{remote_id}"

    def _take_fault(self, s: dict[str, Any]) -> str | None:
        return s["faults"].pop(0) if s["faults"] else None

    def publish(self, text: str, *, media: Sequence[str] = ()) -> Published:
        return self._send(text, media=media)

    def share(self, target: SharedPost, text: str, *, mode: str) -> Published:
        """A repost or a quote of another sandbox account's post (``shares`` names it), or a
        post with the link; faults apply as to a publish."""
        if mode == "link":
            return self._send(text)
        if mode not in ("repost", "quote") or not target.remote_id:
            raise Rejected(f"sandbox: cannot {mode} without the post's id")
        return self._send("" if mode == "repost" else text, shares=target.remote_id)

    def _send(self, text: str, *, media: Sequence[str] = (), shares: str | None = None) -> Published:
        self.request_count += 1
        if self.latency:
            time.sleep(self.latency)
        now = self.clock()
        remote_id = None
        with self.state() as s:  # the fault is taken off the queue even when it fails the call
            fault = self._take_fault(s)
            duplicate = any(
                p["text"] == text and p.get("reply_to") is None and p.get("shares") == shares
                and now - datetime.fromisoformat(p["created_at"]) < timedelta(hours=24) for p in s["posts"])
            if fault not in BEFORE_SEND and not duplicate:
                remote_id = f"p{s['next_id']}"
                s["next_id"] += 1
                s["posts"].append({"id": remote_id, "text": text, "created_at": now.isoformat(), "media": list(media),
                                   **({"shares": shares} if shares else {})})
        if fault == "rate_limit":
            raise RateLimited("sandbox: too many requests", retry_at=now + timedelta(seconds=60))
        if fault == "server_error":
            raise TransientError("sandbox: 503 service unavailable", status=503)
        if fault == "timeout_before_send":
            raise TransientError("sandbox: connect timeout", maybe_delivered=False)
        if fault == "auth":
            raise AuthError("sandbox: token revoked", status=401)
        if fault == "reject":
            raise Rejected("sandbox: this post violates the sandbox rules", status=403)
        if duplicate:
            raise DuplicateContent("sandbox: you already posted this text in the last 24 hours", status=403)
        assert remote_id is not None
        if fault == "timeout_after_send":
            raise TransientError("sandbox: read timeout (the post may have gone out)", maybe_delivered=True)
        if fault == "crash_after_send":
            os._exit(137)  # as if killed between the network call and the commit
        return Published(remote_id=remote_id, url=self.post_url(remote_id), published_at=now)

    def find_recent_posts(self, since: datetime) -> list[RemotePost]:
        self.request_count += 1
        with self.state(write=False) as s:
            posts = [p for p in s["posts"] if p.get("reply_to") is None and datetime.fromisoformat(p["created_at"]) >= since]
        return [RemotePost(remote_id=p["id"], text=p["text"], created_at=datetime.fromisoformat(p["created_at"]),
                           url=self.post_url(p["id"]), shares=p.get("shares")) for p in reversed(posts)]

    def fetch_engagements(self, cursor: str | None, posts: Sequence[OurPost]) -> tuple[list[Engagement], str | None]:
        from socialsell_sandbox.audience import reactions  # noqa: PLC0415 - the simulated audience loads at first use, like a network library (its lazy_modules in tests/test_contract.py)

        self.request_count += 1
        now = self.clock()
        state = json.loads(cursor) if cursor else {"inbox": 0, "posts": {}}
        out: list[Engagement] = []
        with self.state() as s:
            fault = s["poll_faults"].pop(0) if s["poll_faults"] else None
            inbox = s["inbox"][state["inbox"]:]
            known = {p["id"]: p for p in s["posts"]}
        if fault == "rate_limit":
            raise RateLimited("sandbox: too many requests", retry_at=now + timedelta(seconds=60))
        if fault == "server_error":
            raise TransientError("sandbox: 503 service unavailable", status=503)
        if fault == "auth":
            raise AuthError("sandbox: token revoked", status=401)
        for item in inbox:
            at = datetime.fromisoformat(item["at"])
            out.append(Engagement(
                external_id=item["id"], kind=item["kind"], occurred_at=at, text=item.get("text"),
                url=f"sandbox://{item['handle'].lstrip('@')}/{item['id']}", post_remote_id=item.get("post_id"),
                person=Person(handle=item["handle"], name=item.get("name") or item["handle"].lstrip("@"),
                              headline=item.get("headline"), profile_url=f"sandbox://{item['handle'].lstrip('@')}"),
            ))
        state["inbox"] += len(inbox)
        if self.audience:
            for post in posts:
                if post.remote_id not in known:
                    continue
                done = state["posts"].get(post.remote_id, 0)
                planned = reactions(post.remote_id, self.seed)
                due = [r for r in planned if post.published_at + timedelta(minutes=r[0]) <= now]
                for delay, persona, kind, text in due[done:]:
                    at = post.published_at + timedelta(minutes=delay)
                    out.append(Engagement(
                        external_id=f"{post.remote_id}:{persona.handle}:{kind}", kind=kind, occurred_at=at, text=text,
                        url=f"sandbox://{persona.handle.lstrip('@')}/{post.remote_id}", post_remote_id=post.remote_id,
                        person=Person(handle=persona.handle, name=persona.name, headline=persona.headline,
                                      company=persona.company or None, location=persona.location or None,
                                      followers=persona.followers, profile_url=f"sandbox://{persona.handle.lstrip('@')}"),
                    ))
                state["posts"][post.remote_id] = len(due)
        return out, json.dumps(state, sort_keys=True)

    def search(self, query: SearchQuery, cursor: str | None, *, limit: int) -> SearchPage:
        """The public timeline (the audience's own posts and ``sandbox say``) matching ``query``,
        oldest first, after the cursor (``{"at", "id"}`` of the last post returned); a first
        search looks back seven days."""
        from socialsell_sandbox.audience import public_posts  # noqa: PLC0415 - the simulated audience loads only when it acts (contract kit's lazy_modules)

        self.request_count += 1
        now = self.clock()
        with self.state() as s:
            fault = s["poll_faults"].pop(0) if s["poll_faults"] else None
            said = list(s["public"])
        if fault == "rate_limit":
            raise RateLimited("sandbox: too many requests", retry_at=now + timedelta(seconds=60))
        if fault == "server_error":
            raise TransientError("sandbox: 503 service unavailable", status=503)
        if fault == "auth":
            raise AuthError("sandbox: token revoked", status=401)
        after = json.loads(cursor) if cursor else {"at": (now - SEARCH_WINDOW).isoformat(), "id": ""}
        start = datetime.fromisoformat(after["at"])
        posts = [self._found_said(p) for p in said]
        hours = (int(start.timestamp()) // 3600, int(now.timestamp()) // 3600 + 1) if self.audience else (0, 0)
        for at, ext, voice, lang, text in public_posts(self.seed, *hours):
            when = datetime.fromtimestamp(at, UTC)
            posts.append(Found(
                external_id=ext, text=text, occurred_at=when, lang=lang, thread_id=ext,
                url=f"sandbox://{voice.handle.lstrip('@')}/{ext}",
                person=Person(handle=voice.handle, name=voice.name, headline=voice.headline, company=voice.company or None,
                              location=voice.location or None, followers=voice.followers,
                              profile_url=f"sandbox://{voice.handle.lstrip('@')}"),
            ))
        key = (start, after["id"])
        fresh = sorted((p for p in posts if start <= p.occurred_at <= now and (p.occurred_at, p.external_id) > key
                        and query.matched_term(p.text, p.person.handle, p.lang)), key=lambda p: (p.occurred_at, p.external_id))
        page = fresh[:limit]
        if page:
            cursor = json.dumps({"at": page[-1].occurred_at.isoformat(), "id": page[-1].external_id})
        elif cursor is None:
            cursor = json.dumps({"at": now.isoformat(), "id": ""})
        return SearchPage(found=page, cursor=cursor, reads=len(page), more=len(fresh) > limit)

    def _found_said(self, p: dict[str, Any]) -> Found:
        handle = p["handle"].lstrip("@")
        return Found(external_id=p["id"], text=p["text"], occurred_at=datetime.fromisoformat(p["at"]), lang=p.get("lang"),
                     url=f"sandbox://{handle}/{p['id']}", thread_id=p["id"],
                     person=Person(handle=p["handle"], name=p.get("name") or handle, headline=p.get("headline"),
                                   profile_url=f"sandbox://{handle}"))

    def reply(self, engagement: Engagement, text: str) -> Published:
        self.request_count += 1
        now = self.clock()
        with self.state() as s:
            remote_id = f"r{s['next_id']}"
            s["next_id"] += 1
            s["posts"].append({"id": remote_id, "text": text, "created_at": now.isoformat(), "reply_to": engagement.external_id})
        return Published(remote_id=remote_id, url=self.post_url(remote_id), published_at=now)

    def fetch_metrics(self, remote_ids: Sequence[str]) -> list[Metrics]:
        from socialsell_sandbox.audience import reactions  # noqa: PLC0415 - the simulated audience loads at first use (see fetch_engagements)

        self.request_count += 1
        now = self.clock()
        with self.state(write=False) as s:
            known = {p["id"]: p for p in s["posts"]}
        out = []
        for rid in remote_ids:
            p = known.get(rid)
            if p is None:
                continue
            age_min = (now - datetime.fromisoformat(p["created_at"])).total_seconds() / 60
            seen = [r for r in reactions(rid, self.seed) if r[0] <= age_min] if self.audience else []
            kinds = [r[2] for r in seen]
            reach = int(min(age_min, 2880) * 3) + 40 * len(seen)
            out.append(Metrics(
                remote_id=rid, impressions=int(reach * 1.6), reach=reach, likes=kinds.count("like"),
                replies=kinds.count("reply") + kinds.count("comment"), reposts=kinds.count("repost"),
                quotes=kinds.count("quote"), clicks=len(seen) // 2, profile_clicks=len(seen) // 3,
            ))
        return out


def parse_at(value: str) -> datetime:
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=UTC)
