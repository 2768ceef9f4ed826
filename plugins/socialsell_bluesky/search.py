"""Bluesky post search for listening (docs/listening.md, docs/channels/bluesky.md "Listening").

``app.bsky.feed.searchPosts`` leaves its query syntax unspecified ("Lucene is recommended"), so
boolean OR is not something to rely on: a stream's terms are searched one at a time, one request
per call, in turn (``SearchPage.more`` is True until every term had its turn), each with its own
position. The first search of a term reads its latest page only (post search reaches back years);
after it, ``since`` (inclusive) is the newest post seen, and the term's pages are followed with
the ``cursor`` until they end. Exclusions and several languages are applied here, on what came
back (``SearchQuery.matched_term``); one language goes to the server as ``lang``. Reads are the
posts the network returned, kept or not.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from socialsell.api import Found, Person, SearchPage, SearchQuery

if TYPE_CHECKING:  # pragma: no cover
    from socialsell_bluesky.channel import BlueskyChannel


def terms_of(query: SearchQuery) -> list[tuple[str, str]]:
    """``[(key, q), ...]``: each positive term as its own search (a phrase in double quotes)."""
    return ([(w, w) for w in query.keywords] + [(f'"{p}"', f'"{p}"') for p in query.phrases]
            + [(f"#{h}", f"#{h}") for h in query.hashtags] + [(f"@{c}", c) for c in query.competitors])


def search(channel: BlueskyChannel, query: SearchQuery, cursor: str | None, limit: int) -> SearchPage:
    from socialsell_bluesky.channel import APP, _get, _time, post_link  # noqa: PLC0415 - import cycle: channel.py imports this module

    terms = terms_of(query)
    state: dict[str, Any] = json.loads(cursor) if cursor else {}
    turn = int(state.get("turn", 0)) % len(terms)
    key, q = terms[turn]
    mine: dict[str, Any] = dict((state.get("terms") or {}).get(key) or {})
    params: dict[str, Any] = {"q": q, "sort": "latest", "limit": limit}
    if len(query.languages) == 1:
        params["lang"] = query.languages[0]
    if mine.get("cursor"):
        params["cursor"] = mine["cursor"]
    if mine.get("since"):
        params["since"] = mine["since"]
    answer = channel._call("searching posts", lambda c: c.app.bsky.feed.search_posts(params))
    posts = list(_get(answer, "posts") or [])
    seen = set(mine.get("seen") or [])
    found = []
    for post in posts:
        if post.uri in seen:
            continue  # ``since`` is inclusive: the newest post of the last sweep comes back
        author, record = post.author, post.record
        text = _get(record, "text") or ""
        langs = _get(record, "langs") or []
        reply = _get(record, "reply")
        root = _get(reply, "root") if reply is not None else None
        raw = {"uri": post.uri, "cid": post.cid,
               "root": {"uri": _get(root, "uri"), "cid": _get(root, "cid")} if root is not None else None}
        if raw["root"] is None:
            raw.pop("root")
        person = Person(handle=f"@{author.handle}", name=_get(author, "display_name") or None, external_id=author.did,
                        profile_url=f"{APP}/profile/{author.handle}", headline=_get(author, "description") or None)
        item = Found(external_id=post.uri, person=person, text=text,
                     occurred_at=_time(_get(record, "created_at")) or _time(post.indexed_at) or channel.clock(),
                     url=post_link(post.uri, author.handle), lang=langs[0] if langs else None,
                     thread_id=_get(root, "uri") or post.uri, raw=raw)
        if query.matched_term(item.text, person.handle, item.lang):
            found.append(item)
    newest = max((_time(p.indexed_at) for p in posts if p.indexed_at), default=None)
    if newest is not None and (mine.get("newest") is None or newest.isoformat() > mine["newest"]):
        mine["newest"] = newest.isoformat()
        mine["newest_seen"] = [p.uri for p in posts if p.indexed_at and _time(p.indexed_at) == newest]
    page_cursor = _get(answer, "cursor")
    follow = bool(mine.get("since") and page_cursor and len(posts) >= limit)  # the first sweep reads one page
    if follow:
        mine["cursor"] = page_cursor
    else:  # this term's sweep is done: the next starts at the newest post it saw
        mine = {"since": mine.get("newest") or mine.get("since"), "seen": mine.get("newest_seen") or mine.get("seen", [])}
        turn = (turn + 1) % len(terms)
    state = {"turn": turn, "terms": {**(state.get("terms") or {}), key: mine}}
    return SearchPage(found=found, cursor=json.dumps(state, sort_keys=True), reads=len(posts),
                      more=follow or turn != 0)
