"""One engagement poll of an X account at low API cost.

Every poll makes:

1. the mentions timeline since the last one (replies and quotes that mention us arrive here);
2. one ``GET /2/tweets`` per 100 of our posts in the window, for their public counters;
3. then only for posts whose counters rose since the previous poll:
   replies not already seen as mentions, by ONE search of up to 12 conversations at a time;
   ``liking_users`` when likes rose; ``retweeted_by`` when reposts rose; ``quote_tweets`` when
   quotes rose more than the quotes seen as mentions. These lists come 100 to a page, newest
   first: they are paged until the rise is covered, within the poll's request budget.

A poll of 200 posts where 10 changed therefore costs 3 + 1 + (likes + reposts drill-downs),
and a poll where nothing changed costs 3. The cursor (JSON, opaque to the core) keeps the
mentions ``since_id``, each conversation's ``since_id``, the last counters per post, and for
each search or drill-down the budget cut short, where it stopped (the next page's token and
what was read), so the next poll resumes there. A counter is recorded as seen only as
far as its entries were actually read (docs/channels/x.md, "Engagements and what a poll costs").
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from socialsell.api import (
    AuthError,
    ChannelError,
    Engagement,
    OurPost,
    Person,
    RateLimited,
    Rejected,
)
from socialsell_x.channel import parse_time, tweet_url

if TYPE_CHECKING:  # pragma: no cover
    from socialsell_x.channel import XChannel

log = logging.getLogger(__name__)

USER_FIELDS = ["name", "username", "description", "public_metrics", "url", "location", "verified"]
TWEET_FIELDS = ["created_at", "author_id", "conversation_id", "referenced_tweets", "in_reply_to_user_id"]
EXPANSIONS = ["author_id"]
COUNTERS = {"replies": "reply_count", "likes": "like_count", "reposts": "retweet_count", "quotes": "quote_count"}
#: X's recent search takes a query of 512 characters: 12 ``conversation_id:<id>`` terms fit
SEARCH_QUERY_LIMIT = 512
#: the mentions timeline reaches back 800 tweets: 8 pages of 100
MAX_MENTION_PAGES = 8
#: recent search covers 7 days; stay a little inside that edge
SEARCH_REACH = timedelta(days=7) - timedelta(minutes=5)
TWITTER_EPOCH_MS = 1288834974657
CURSOR_VERSION = 1
#: entries per page of liking_users, retweeted_by and quote_tweets (X's maximum)
DRILL_PAGE = 100
#: counter -> the endpoint that lists who made it rise
DRILLS = {"likes": "liking_users", "reposts": "retweeted_by", "quotes": "quote_tweets"}


def tweet_time(tweet_id: str | int) -> datetime:
    """When a tweet was created, read from its snowflake id."""
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + TWITTER_EPOCH_MS) / 1000, tz=UTC)


def _max_id(*ids: str | None) -> str | None:
    present = [int(i) for i in ids if i]
    return str(max(present)) if present else None


@dataclass
class Paging:
    """One drill-down (likers, reposters or quotes of a post) that may span several polls.

    The list is read newest first from ``token`` (None: from the top). It covers the rise of
    the counter from ``base`` to ``upto``: it is complete when ``read`` entries cover that
    rise or X has no further page.
    """

    base: int
    upto: int
    token: str | None = None
    read: int = 0
    done: bool = False
    #: whose list this is (the cursor's keys): our post and ``likes``, ``reposts`` or ``quotes``
    post: str = ""
    counter: str = ""

    def covered(self) -> int:
        """How far the counter is accounted for by what was actually read."""
        return self.upto if self.done else min(self.base + self.read, self.upto)

    def dump(self) -> dict[str, Any]:
        return {"next": self.token, "read": self.read, "from": self.base, "upto": self.upto}

    @classmethod
    def load(cls, data: dict[str, Any], post: str, counter: str) -> Paging:
        token = data.get("next")
        return cls(base=int(data["from"]), upto=int(data["upto"]), token=str(token) if token else None,
                   read=int(data["read"]), post=post, counter=counter)


@dataclass
class Search:
    """One recent search of up to 12 of our conversations, which may span several polls.

    Results come newest first: nothing advances until the last page is read, so a search the
    budget cuts short resumes at ``token`` next poll with the same query and start.
    """

    posts: list[str]
    #: conversation -> the reply id the search starts after
    since: dict[str, str]
    #: conversation -> the replies counter the search covers when complete
    upto: dict[str, int]
    #: ``since_id`` or ``start_time`` (X refuses a since_id older than 7 days)
    start: dict[str, str]
    token: str | None = None
    #: conversation -> the newest reply read so far
    newest: dict[str, str] = field(default_factory=dict)
    started: bool = False
    done: bool = False

    def dump(self) -> dict[str, Any]:
        return {"posts": self.posts, "since": self.since, "upto": self.upto, "start": self.start,
                "next": self.token, "newest": self.newest}

    @classmethod
    def load(cls, data: dict[str, Any]) -> Search:
        return cls(
            posts=[str(p) for p in data["posts"]],
            since={str(k): str(v) for k, v in data["since"].items()},
            upto={str(k): int(v) for k, v in data["upto"].items()},
            start={str(k): str(v) for k, v in data["start"].items() if k in ("since_id", "start_time")},
            token=str(data["next"]) if data.get("next") else None,
            newest={str(k): str(v) for k, v in (data.get("newest") or {}).items()},
            started=True,
        )


@dataclass
class Cursor:
    """Where the previous poll stopped."""

    mentions_since: str | None = None
    #: post id -> the newest reply id seen in its conversation
    conversations: dict[str, str] = field(default_factory=dict)
    #: post id -> counters at the previous poll, as far as they were read
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: post id -> counter -> a drill-down the request budget cut short
    paging: dict[str, dict[str, Paging]] = field(default_factory=dict)
    #: reply searches the request budget cut short
    searches: list[Search] = field(default_factory=list)

    @classmethod
    def load(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != CURSOR_VERSION:
                raise ValueError("unknown cursor version")
            return cls(
                mentions_since=data.get("mentions_since"),
                conversations={str(k): str(v) for k, v in (data.get("conversations") or {}).items()},
                counts={str(k): {c: int(n) for c, n in v.items()} for k, v in (data.get("counts") or {}).items()},
                paging={
                    str(post): {c: Paging.load(p, str(post), c) for c, p in kinds.items() if c in DRILLS}
                    for post, kinds in (data.get("paging") or {}).items()
                },
                searches=[Search.load(item) for item in data.get("searches") or []],
            )
        except (ValueError, TypeError, AttributeError, KeyError):
            # An unreadable cursor costs one bigger poll; the core drops what it already has.
            log.warning("unreadable X cursor; starting over from the engagement window")
            return cls()

    def dump(self) -> str:
        return json.dumps(
            {"v": CURSOR_VERSION, "mentions_since": self.mentions_since,
             "conversations": self.conversations, "counts": self.counts,
             "paging": {post: {c: p.dump() for c, p in kinds.items()} for post, kinds in self.paging.items() if kinds},
             "searches": [search.dump() for search in self.searches]},
            separators=(",", ":"), sort_keys=True,
        )


def person_from(user: dict[str, Any] | None, user_id: str | None) -> Person:
    user = user or {}
    username = user.get("username")
    return Person(
        handle=f"@{username}" if username else f"x:{user_id or user.get('id')}",
        name=user.get("name"),
        external_id=str(user.get("id") or user_id) if (user.get("id") or user_id) else None,
        profile_url=f"https://x.com/{username}" if username else None,
        headline=user.get("description") or None,
        location=user.get("location") or None,
        followers=(user.get("public_metrics") or {}).get("followers_count"),
        verified=user.get("verified") if isinstance(user.get("verified"), bool) else None,
        bio=user.get("description") or None,
        kind="person",
    )


class Poll:
    """The state of one ``fetch_engagements`` call."""

    def __init__(self, channel: XChannel, cursor: Cursor, posts: Sequence[OurPost]):
        self.channel = channel
        self.cursor = cursor
        self.posts = {str(p.remote_id): p for p in posts}
        self.now = channel.clock()  # the core sets it to the App's clock (docs/plugins.md)
        self.budget = channel.poll_request_budget
        self.started_at = channel.request_count  # requests are counted from here, the identity lookup included
        self.user_id = channel.me().user_id
        self.found: list[Engagement] = []
        self.seen: set[str] = set()
        #: replies and quotes of each post that the mentions already brought this poll
        self.explained: dict[str, dict[str, int]] = defaultdict(lambda: {"replies": 0, "quotes": 0})
        self.blocked: set[str] = set()  # endpoints that answered 429 during this poll

    # -- normalising -------------------------------------------------------------------------

    def add_tweet(
        self, tweet: dict[str, Any], users: dict[str, dict[str, Any]], *, quoting: str | None = None
    ) -> Engagement | None:
        """Normalise one tweet; ``quoting`` is our post whose ``quote_tweets`` listed it."""
        tweet_id = str(tweet["id"])
        author = str(tweet.get("author_id") or "")
        if author == self.user_id or tweet_id in self.seen:
            return None
        refs = {r.get("type"): str(r.get("id")) for r in tweet.get("referenced_tweets") or []}
        if "retweeted" in refs:
            return None  # reposts come from retweeted_by
        conversation = str(tweet.get("conversation_id") or "")
        kind, target = "mention", None
        if quoting is not None:
            # X listed it as a quote of this post: that holds even when it sent no referenced_tweets
            kind, target = "quote", quoting
        elif "quoted" in refs and refs["quoted"] in self.posts:
            kind, target = "quote", refs["quoted"]
        elif "replied_to" in refs and (refs["replied_to"] in self.posts or conversation in self.posts):
            kind, target = "reply", refs["replied_to"]
        post = target if target in self.posts else (conversation if conversation in self.posts else None)
        user = users.get(author)
        engagement = Engagement(
            external_id=tweet_id,
            kind=kind,
            person=person_from(user, author),
            occurred_at=parse_time(tweet.get("created_at")) or tweet_time(tweet_id),
            text=tweet.get("text"),
            url=tweet_url((user or {}).get("username"), tweet_id),
            post_remote_id=post,
            in_reply_to=refs.get("replied_to"),
            raw={k: tweet[k] for k in ("id", "text", "author_id", "conversation_id", "created_at", "referenced_tweets") if k in tweet},
        )
        self.found.append(engagement)
        self.seen.add(tweet_id)
        if kind == "reply" and target in self.posts:
            self.explained[target]["replies"] += 1
        if kind == "quote" and target in self.posts:
            self.explained[target]["quotes"] += 1
        return engagement

    def add_user(self, kind: str, post_id: str, user: dict[str, Any]) -> None:
        user_id = str(user.get("id"))
        if user_id == self.user_id:
            return
        person = person_from(user, user_id)
        self.found.append(Engagement(
            external_id=f"{post_id}:{user_id}",
            kind=kind,
            person=person,
            occurred_at=self.now,  # X does not say when someone liked or reposted
            url=person.profile_url,
            post_remote_id=post_id,
        ))

    # -- the requests ------------------------------------------------------------------------

    def mentions(self) -> None:
        params: dict[str, Any] = {
            "max_results": 100, "expansions": EXPANSIONS, "tweet_fields": TWEET_FIELDS, "user_fields": USER_FIELDS,
        }
        if self.cursor.mentions_since:
            params["since_id"] = self.cursor.mentions_since
        else:
            window = self.now - timedelta(days=self.channel.account.engagement_window_days)
            oldest = min((p.published_at for p in self.posts.values()), default=window)
            params["start_time"] = max(_utc(oldest), window)
        newest = self.cursor.mentions_since
        token = None
        for _ in range(MAX_MENTION_PAGES):
            answer = self.channel._call(
                "get_users_mentions", self.user_id, pagination_token=token, doing="reading mentions", **params
            )
            users = _users(answer)
            for tweet in answer.get("data") or []:
                newest = _max_id(newest, str(tweet["id"]))
                self.add_tweet(tweet, users)
            token = (answer.get("meta") or {}).get("next_token")
            if not token:
                break
        self.cursor.mentions_since = newest

    def counters(self) -> dict[str, dict[str, int]]:
        ids = list(self.posts)
        current: dict[str, dict[str, int]] = {}
        for start in range(0, len(ids), 100):
            answer = self.channel._call(
                "get_tweets", ids[start:start + 100], tweet_fields=["public_metrics"], doing="reading post counters"
            )
            # Deleted or hidden posts come back in `errors`, not `data`: they are skipped.
            for tweet in answer.get("data") or []:
                metrics = tweet.get("public_metrics") or {}
                current[str(tweet["id"])] = {name: int(metrics.get(key) or 0) for name, key in COUNTERS.items()}
        return current

    def spent(self) -> int:
        """Requests made so far by this poll."""
        return self.channel.request_count - self.started_at

    def left(self) -> int:
        """Requests the budget still allows this poll."""
        return max(0, self.budget - self.spent())

    def drill(self, endpoint: str, run: Any) -> bool:
        """Run one drill-down; False (and the counter kept for next poll) when X would not answer
        or the request budget is spent."""
        if endpoint in self.blocked or not self.left():
            return False
        try:
            run()
            return True
        except AuthError:
            raise
        except RateLimited as exc:
            self.blocked.add(endpoint)
            log.warning("%s: %s", self.channel.account.name, exc)
        except ChannelError as exc:
            log.warning("%s: %s", self.channel.account.name, exc)
        return False

    def new_search(self, post_ids: list[str], counters: dict[str, dict[str, int]]) -> Search:
        """A search of these conversations from each one's last seen reply."""
        since = {p: self.cursor.conversations.get(p, p) for p in post_ids}
        oldest = min(since.values(), key=int)
        if tweet_time(oldest) > self.now - SEARCH_REACH:
            start = {"since_id": oldest}
        else:  # X refuses a since_id older than 7 days
            start = {"start_time": (self.now - SEARCH_REACH).strftime("%Y-%m-%dT%H:%M:%SZ")}
        return Search(posts=post_ids, since=since, upto={p: counters[p]["replies"] for p in post_ids},
                      start=start, newest=dict(since))

    def search_page(self, search: Search) -> None:
        """Read the next page of ``search``; replies of the conversations are kept."""
        query = " OR ".join(f"conversation_id:{p}" for p in search.posts)
        try:
            answer = self.channel._call(
                "search_recent_tweets", query, next_token=search.token, max_results=100, expansions=EXPANSIONS,
                tweet_fields=TWEET_FIELDS, user_fields=USER_FIELDS, doing="searching replies", **search.start,
            )
        except Rejected:
            if search.token:
                # X refuses the saved token: nothing advanced, so the next poll searches anew
                search.token, search.started = None, False
            raise
        search.started = True
        users = _users(answer)
        for tweet in answer.get("data") or []:
            conversation = str(tweet.get("conversation_id") or "")
            if conversation not in search.since or int(tweet["id"]) <= int(search.since[conversation]):
                continue
            search.newest[conversation] = _max_id(search.newest.get(conversation), str(tweet["id"])) or conversation
            self.add_tweet(tweet, users)
        search.token = (answer.get("meta") or {}).get("next_token") or None
        search.done = search.token is None

    def read_page(self, paging: Paging) -> None:
        """Read the next page of the likers, reposters or quotes ``paging`` is about."""
        try:
            self._read_page(paging.post, paging.counter, paging)
        except Rejected:
            if paging.token:
                # X refuses the saved token (expired or changed). What was read is the newest
                # part of the list and the unread part is older, so the whole rise is read
                # again from the top next poll (the core keeps one copy of each).
                paging.read, paging.token = 0, None
            raise

    def _read_page(self, post_id: str, counter: str, paging: Paging) -> None:
        common: dict[str, Any] = {"max_results": DRILL_PAGE, "user_fields": USER_FIELDS}
        if paging.token:
            common["pagination_token"] = paging.token
        if counter == "quotes":
            answer = self.channel._call(
                "get_quote_tweets", post_id, expansions=EXPANSIONS, tweet_fields=TWEET_FIELDS,
                doing="reading quotes", **common,
            )
            users = _users(answer)
            for tweet in answer.get("data") or []:
                self.add_tweet(tweet, users, quoting=post_id)
        else:
            method, kind, doing = {
                "likes": ("get_liking_users", "like", "reading likes"),
                "reposts": ("get_retweeters", "repost", "reading reposts"),
            }[counter]
            answer = self.channel._call(method, post_id, doing=doing, **common)
            for user in answer.get("data") or []:
                self.add_user(kind, post_id, user)
        paging.read += len(answer.get("data") or [])
        paging.token = (answer.get("meta") or {}).get("next_token") or None
        # newest first: once the rise is covered the older pages hold nothing new
        paging.done = paging.token is None or paging.base + paging.read >= paging.upto

    # -- the poll ----------------------------------------------------------------------------

    def run(self) -> list[Engagement]:
        self.mentions()
        if not self.posts:
            self.cursor.counts, self.cursor.conversations, self.cursor.paging, self.cursor.searches = {}, {}, {}, []
            return self.found
        current = self.counters()
        zero = dict.fromkeys(COUNTERS, 0)
        stored: dict[str, dict[str, int]] = {}
        need_search = []
        # searches and drill-downs a previous poll left unfinished come first, then the new ones
        unfinished = [search for search in self.cursor.searches if set(search.posts) & set(current)]
        searching = {p for search in unfinished for p in search.posts}
        carried: list[Search | Paging] = list(unfinished)
        fresh: list[Paging] = []
        for post_id, now in current.items():
            before = self.cursor.counts.get(post_id, zero)
            stored[post_id] = dict(now)
            if post_id in searching:
                stored[post_id]["replies"] = before.get("replies", 0)  # covered when that search ends
            elif now["replies"] > before.get("replies", 0) + self.explained[post_id]["replies"]:
                need_search.append(post_id)
            for counter in DRILLS:
                paging = self.cursor.paging.get(post_id, {}).get(counter)
                if paging is not None:
                    carried.append(paging)
                    continue
                base = before.get(counter, 0)
                if now[counter] > base + self.explained[post_id].get(counter, 0):
                    fresh.append(Paging(base=base, upto=now[counter], post=post_id, counter=counter))
        searches = [self.new_search(group, current) for group in _query_groups(need_search)]
        # One page per search or drill-down per round: a post with thousands of likers cannot
        # starve the others, and what the budget leaves is resumed next poll.
        jobs: list[Search | Paging] = [*carried, *searches, *fresh]
        queue = deque(jobs)
        while queue and self.left():
            job = queue.popleft()
            if isinstance(job, Search):
                ok = self.drill("search", lambda j=job: self.search_page(j))
            else:
                ok = self.drill(DRILLS[job.counter], lambda j=job: self.read_page(j))
            if ok and not job.done:
                queue.append(job)
        self.cursor.paging, self.cursor.searches = {}, []
        for job in jobs:
            if isinstance(job, Search):
                self._settle_search(job, current, stored, zero)
                continue
            # never above X's counter: unlikes during the paging must not hide later likes
            stored[job.post][job.counter] = min(job.covered(), current[job.post][job.counter])
            if not job.done and job.token:
                self.cursor.paging.setdefault(job.post, {})[job.counter] = job
        self.cursor.counts = stored
        self.cursor.conversations = {p: s for p, s in self.cursor.conversations.items() if p in self.posts}
        return self.found

    def _settle_search(
        self, search: Search, current: dict[str, dict[str, int]], stored: dict[str, dict[str, int]], zero: dict[str, int]
    ) -> None:
        """Record a search: complete, its conversations advance; cut short, it is carried."""
        in_window = [p for p in search.posts if p in stored]
        if search.done:
            for post_id in in_window:
                self.cursor.conversations[post_id] = search.newest.get(post_id, search.since[post_id])
                # replies made since the search began are above ``upto``: the next search reads them
                stored[post_id]["replies"] = min(search.upto[post_id], current[post_id]["replies"])
            return
        for post_id in in_window:
            stored[post_id]["replies"] = self.cursor.counts.get(post_id, zero).get("replies", 0)
        if search.started and search.token:
            self.cursor.searches.append(search)


def _query_groups(post_ids: list[str]) -> list[list[str]]:
    groups: list[list[str]] = []
    length = SEARCH_QUERY_LIMIT + 1
    for post_id in post_ids:
        term = len(f"conversation_id:{post_id}") + len(" OR ")
        if length + term > SEARCH_QUERY_LIMIT + len(" OR "):
            groups.append([])
            length = 0
        groups[-1].append(post_id)
        length += term
    return groups


def _users(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(u["id"]): u for u in (answer.get("includes") or {}).get("users") or [] if u.get("id")}


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def poll(channel: XChannel, cursor: str | None, posts: Sequence[OurPost]) -> tuple[list[Engagement], str | None]:
    """New engagements since ``cursor`` on ``posts``, and the cursor that covers them."""
    state = Cursor.load(cursor)
    found = Poll(channel, state, posts).run()
    return found, state.dump()
