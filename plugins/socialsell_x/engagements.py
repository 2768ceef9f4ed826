"""One engagement poll of an X account at low API cost.

Every poll makes:

1. the mentions timeline since the last one (replies and quotes that mention us arrive here);
2. one ``GET /2/tweets`` per 100 of our posts in the window, for their public counters;
3. then only for posts whose counters rose since the previous poll:
   replies not already seen as mentions, by ONE search of up to 12 conversations at a time;
   ``liking_users`` when likes rose; ``retweeted_by`` when reposts rose; ``quote_tweets`` when
   quotes rose more than the quotes seen as mentions.

A poll of 200 posts where 10 changed therefore costs 3 + 1 + (likes + reposts drill-downs),
and a poll where nothing changed costs 3. The cursor (JSON, opaque to the core) keeps the
mentions ``since_id``, each conversation's ``since_id`` and the last counters per post.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
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
)
from socialsell_x.channel import parse_time, tweet_url

if TYPE_CHECKING:  # pragma: no cover
    from socialsell_x.channel import XChannel

log = logging.getLogger(__name__)

USER_FIELDS = ["name", "username", "description", "public_metrics", "url", "location"]
TWEET_FIELDS = ["created_at", "author_id", "conversation_id", "referenced_tweets", "in_reply_to_user_id"]
EXPANSIONS = ["author_id"]
COUNTERS = {"replies": "reply_count", "likes": "like_count", "reposts": "retweet_count", "quotes": "quote_count"}
#: X's recent search takes a query of 512 characters: 12 ``conversation_id:<id>`` terms fit
SEARCH_QUERY_LIMIT = 512
#: the mentions timeline reaches back 800 tweets: 8 pages of 100
MAX_MENTION_PAGES = 8
MAX_SEARCH_PAGES = 10
#: recent search covers 7 days; stay a little inside that edge
SEARCH_REACH = timedelta(days=7) - timedelta(minutes=5)
TWITTER_EPOCH_MS = 1288834974657
CURSOR_VERSION = 1


def tweet_time(tweet_id: str | int) -> datetime:
    """When a tweet was created, read from its snowflake id."""
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + TWITTER_EPOCH_MS) / 1000, tz=UTC)


def _max_id(*ids: str | None) -> str | None:
    present = [int(i) for i in ids if i]
    return str(max(present)) if present else None


@dataclass
class Cursor:
    """Where the previous poll stopped."""

    mentions_since: str | None = None
    #: post id -> the newest reply id seen in its conversation
    conversations: dict[str, str] = field(default_factory=dict)
    #: post id -> counters at the previous poll
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

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
            )
        except (ValueError, TypeError, AttributeError):
            # An unreadable cursor costs one bigger poll; the core drops what it already has.
            log.warning("unreadable X cursor; starting over from the engagement window")
            return cls()

    def dump(self) -> str:
        return json.dumps(
            {"v": CURSOR_VERSION, "mentions_since": self.mentions_since,
             "conversations": self.conversations, "counts": self.counts},
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
    )


class Poll:
    """The state of one ``fetch_engagements`` call."""

    def __init__(self, channel: XChannel, cursor: Cursor, posts: Sequence[OurPost]):
        self.channel = channel
        self.cursor = cursor
        self.posts = {str(p.remote_id): p for p in posts}
        self.now = datetime.now(UTC)
        self.user_id = channel.me().user_id
        self.found: list[Engagement] = []
        self.seen: set[str] = set()
        #: replies and quotes of each post that the mentions already brought this poll
        self.explained: dict[str, dict[str, int]] = defaultdict(lambda: {"replies": 0, "quotes": 0})
        self.blocked: set[str] = set()  # endpoints that answered 429 during this poll

    # -- normalising -------------------------------------------------------------------------

    def add_tweet(self, tweet: dict[str, Any], users: dict[str, dict[str, Any]]) -> Engagement | None:
        tweet_id = str(tweet["id"])
        author = str(tweet.get("author_id") or "")
        if author == self.user_id or tweet_id in self.seen:
            return None
        refs = {r.get("type"): str(r.get("id")) for r in tweet.get("referenced_tweets") or []}
        if "retweeted" in refs:
            return None  # reposts come from retweeted_by
        conversation = str(tweet.get("conversation_id") or "")
        kind, target = "mention", None
        if "quoted" in refs and refs["quoted"] in self.posts:
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

    def drill(self, endpoint: str, run: Any) -> bool:
        """Run one drill-down; False (and the counter kept for next poll) when X would not answer."""
        if endpoint in self.blocked:
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

    def search_replies(self, post_ids: list[str]) -> None:
        since = {p: self.cursor.conversations.get(p, p) for p in post_ids}
        query = " OR ".join(f"conversation_id:{p}" for p in post_ids)
        params: dict[str, Any] = {
            "max_results": 100, "expansions": EXPANSIONS, "tweet_fields": TWEET_FIELDS, "user_fields": USER_FIELDS,
        }
        oldest = min(since.values(), key=int)
        if tweet_time(oldest) > self.now - SEARCH_REACH:
            params["since_id"] = oldest
        else:
            params["start_time"] = self.now - SEARCH_REACH  # X refuses a since_id older than 7 days
        newest = dict(since)
        token = None
        for _ in range(MAX_SEARCH_PAGES):
            answer = self.channel._call(
                "search_recent_tweets", query, next_token=token, doing="searching replies", **params
            )
            users = _users(answer)
            for tweet in answer.get("data") or []:
                conversation = str(tweet.get("conversation_id") or "")
                if conversation not in since or int(tweet["id"]) <= int(since[conversation]):
                    continue
                newest[conversation] = _max_id(newest[conversation], str(tweet["id"])) or newest[conversation]
                self.add_tweet(tweet, users)
            token = (answer.get("meta") or {}).get("next_token")
            if not token:
                break
        self.cursor.conversations.update(newest)

    def liking_users(self, post_id: str) -> None:
        answer = self.channel._call(
            "get_liking_users", post_id, max_results=100, user_fields=USER_FIELDS, doing="reading likes"
        )
        for user in answer.get("data") or []:
            self.add_user("like", post_id, user)

    def retweeters(self, post_id: str) -> None:
        answer = self.channel._call(
            "get_retweeters", post_id, max_results=100, user_fields=USER_FIELDS, doing="reading reposts"
        )
        for user in answer.get("data") or []:
            self.add_user("repost", post_id, user)

    def quotes(self, post_id: str) -> None:
        answer = self.channel._call(
            "get_quote_tweets", post_id, max_results=100, expansions=EXPANSIONS,
            tweet_fields=TWEET_FIELDS, user_fields=USER_FIELDS, doing="reading quotes",
        )
        users = _users(answer)
        for tweet in answer.get("data") or []:
            self.add_tweet(tweet, users)

    # -- the poll ----------------------------------------------------------------------------

    def run(self) -> list[Engagement]:
        self.mentions()
        if not self.posts:
            self.cursor.counts, self.cursor.conversations = {}, {}
            return self.found
        current = self.counters()
        zero = dict.fromkeys(COUNTERS, 0)
        stored: dict[str, dict[str, int]] = {}
        need_search = []
        for post_id, now in current.items():
            before = self.cursor.counts.get(post_id, zero)
            stored[post_id] = dict(now)
            if now["replies"] > before.get("replies", 0) + self.explained[post_id]["replies"]:
                need_search.append(post_id)
            for counter, endpoint, fetch in (
                ("likes", "liking_users", self.liking_users),
                ("reposts", "retweeted_by", self.retweeters),
            ):
                if now[counter] > before.get(counter, 0) and not self.drill(endpoint, lambda f=fetch, p=post_id: f(p)):
                    stored[post_id][counter] = before.get(counter, 0)  # try again next poll
            if now["quotes"] > before.get("quotes", 0) + self.explained[post_id]["quotes"] and not self.drill(
                "quote_tweets", lambda p=post_id: self.quotes(p)
            ):
                stored[post_id]["quotes"] = before.get("quotes", 0)
        for group in _query_groups(need_search):
            if not self.drill("search", lambda g=group: self.search_replies(g)):
                for post_id in group:
                    stored[post_id]["replies"] = self.cursor.counts.get(post_id, zero).get("replies", 0)
        self.cursor.counts = stored
        self.cursor.conversations = {p: s for p, s in self.cursor.conversations.items() if p in self.posts}
        return self.found


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
