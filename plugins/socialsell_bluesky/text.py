"""Bluesky's text rules: 300 graphemes and 3,000 bytes, rich-text facets at byte offsets, and
threads written as parts separated by lines holding only ``---`` (as for X).

The network does not parse links, mentions or hashtags out of the text: the post carries
"facets", each a UTF-8 byte range (start inclusive, end exclusive) and what it is (a link's
URI, a mention's DID, a tag without its ``#``). A mention whose handle does not resolve gets no
facet and stays plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import regex

MAX_GRAPHEMES = 300
MAX_BYTES = 3000

_LINK = regex.compile(r"https?://[^\s<>\"]+")
_MENTION = regex.compile(r"(?<![\w@])@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)")
_TAG = regex.compile(r"(?<![\w#&])#(\w*[^\W\d_]\w*)")
_TRAILING = ".,;:!?)]}'\""
_SEPARATOR = regex.compile(r"^[ \t]*---[ \t]*$", regex.MULTILINE)
THREAD_JOIN = "\n---\n"


def thread_parts(text: str) -> list[str]:
    """The posts of ``text``: one, or several when lines holding only ``---`` split it."""
    parts = [part.strip() for part in _SEPARATOR.split(text)]
    return [text.strip()] if len(parts) == 1 else parts


def graphemes(text: str) -> int:
    """What Bluesky counts against its 300 limit: user-perceived characters (an emoji with
    its modifiers, a letter with its accents is one)."""
    return len(regex.findall(r"\X", text))


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


@dataclass(frozen=True)
class Facet:
    """One rich-text span: ``kind`` is ``link``, ``mention`` or ``tag``; ``value`` its URI, DID or tag."""

    byte_start: int
    byte_end: int
    kind: str
    value: str


def _bytes(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def facets(text: str, resolve_handle: Callable[[str], str | None]) -> list[Facet]:
    """Links, mentions (``resolve_handle(handle)`` gives a DID or None) and hashtags of ``text``,
    in order, without overlaps."""
    found: list[tuple[int, int, str, str]] = []
    for m in _LINK.finditer(text):
        url = m.group(0).rstrip(_TRAILING)
        found.append((m.start(), m.start() + len(url), "link", url))
    for m in _MENTION.finditer(text):
        did = resolve_handle(m.group(1).lower())
        if did:
            found.append((m.start(), m.end(), "mention", did))
    for m in _TAG.finditer(text):
        tag = m.group(1).rstrip(_TRAILING)
        if tag:
            found.append((m.start(), m.start() + 1 + len(tag), "tag", tag))
    result: list[Facet] = []
    end = -1
    for start, stop, kind, value in sorted(found):
        if start < end:  # inside a link (a URL's #fragment or @path): the first span wins
            continue
        result.append(Facet(_bytes(text, start), _bytes(text, stop), kind, value))
        end = stop
    return result
