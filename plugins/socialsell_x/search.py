"""X recent search for listening (docs/listening.md, docs/channels/x.md "Listening").

``GET /2/tweets/search/recent`` through tweepy's ``Client.search_recent_tweets``: the last seven
days, 10 to 100 posts a request, a query of at most 512 characters. A stream's query becomes X's
operators: ``(word OR "a phrase" OR #tag OR @rival OR from:rival) -exclusion lang:en -is:retweet
-from:us``. X bills a search per post returned, so a page's reads are the posts in it.

The cursor is a small JSON object: ``since_id`` (where this sweep starts: the newest post of the
sweep before), ``next_token`` (the next, older page of this sweep) and ``newest`` (the newest post
this sweep has seen, the next sweep's ``since_id``). X's ``next_token`` never expires, so a sweep
interrupted by the budget or a crash goes on where it stopped.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from socialsell.api import Found, SearchPage, SearchQuery

if TYPE_CHECKING:  # pragma: no cover
    from socialsell_x.channel import XChannel

#: the longest query recent search takes on self-serve access (Enterprise: 4,096)
MAX_QUERY = 512
TWEET_FIELDS = ["created_at", "conversation_id", "lang", "author_id"]
USER_FIELDS = ["username", "name", "description", "location", "public_metrics", "verified"]


def build_query(query: SearchQuery, own_handle: str | None = None) -> str:
    """X's query for a stream. AND binds before OR, so the terms are one bracketed OR group;
    ``lang:`` and ``is:`` need a standalone operator beside them, which the group is."""
    terms = [*query.keywords, *(f'"{p}"' for p in query.phrases), *(f"#{h}" for h in query.hashtags)]
    for handle in query.competitors:
        terms += [f"@{handle}", f"from:{handle}"]
    group = terms[0] if len(terms) == 1 else f"({' OR '.join(terms)})"
    parts = [group, *(f"-{word}" for word in query.exclude)]
    if len(query.languages) == 1:
        parts.append(f"lang:{query.languages[0]}")
    elif query.languages:
        parts.append(f"({' OR '.join(f'lang:{lang}' for lang in query.languages)})")
    parts.append("-is:retweet")
    if own_handle:
        parts.append(f"-from:{own_handle.lstrip('@')}")
    return " ".join(parts)


def query_problems(query: SearchQuery) -> list[str]:
    q = build_query(query, "x" * 15)  # room for our own handle (15 characters at most on X)
    if len(q) > MAX_QUERY:
        return [f"the query is {len(q)} characters as X's operators; recent search takes at most {MAX_QUERY} "
                "(fewer terms, or split the stream)"]
    return []


def search(channel: XChannel, query: SearchQuery, cursor: str | None, limit: int) -> SearchPage:
    from socialsell_x.channel import parse_time, tweet_url  # noqa: PLC0415 - import cycle: channel.py imports this module
    from socialsell_x.engagements import person_from  # noqa: PLC0415 - import cycle: engagements.py imports channel.py

    state: dict[str, Any] = json.loads(cursor) if cursor else {}
    identity = channel._known_identity()
    kwargs: dict[str, Any] = {"max_results": limit, "tweet_fields": TWEET_FIELDS, "expansions": ["author_id"],
                              "user_fields": USER_FIELDS}
    if state.get("since_id"):
        kwargs["since_id"] = state["since_id"]
    if state.get("next_token"):
        kwargs["next_token"] = state["next_token"]
    answer = channel._call("search_recent_tweets", build_query(query, identity.username if identity else None),
                           doing="searching recent posts", **kwargs)
    tweets = answer.get("data") or []
    users = {str(u["id"]): u for u in (answer.get("includes") or {}).get("users") or []}
    meta = answer.get("meta") or {}
    found = []
    for tweet in tweets:
        author = users.get(str(tweet.get("author_id")))
        person = person_from(author, tweet.get("author_id"))
        found.append(Found(
            external_id=str(tweet["id"]), person=person, text=html.unescape(tweet.get("text", "")),
            occurred_at=parse_time(tweet.get("created_at")) or channel.clock(),
            url=tweet_url((author or {}).get("username"), str(tweet["id"])), lang=tweet.get("lang"),
            thread_id=str(tweet.get("conversation_id") or tweet["id"]),
        ))
    newest = max((x for x in (state.get("newest"), meta.get("newest_id")) if x), key=int, default=None)
    if meta.get("next_token"):
        new_state = {"since_id": state.get("since_id"), "next_token": meta["next_token"], "newest": newest}
    else:
        new_state = {"since_id": newest or state.get("since_id")}
    return SearchPage(found=found, cursor=json.dumps(new_state, sort_keys=True), reads=len(tweets),
                      more=bool(meta.get("next_token")))
