"""LinkedIn's "little text" format for post commentary and comments.

In ``commentary`` the characters ``| { } @ [ ] ( ) < > # * _ ~ \\`` are markup: unescaped they make
LinkedIn silently truncate the post. :func:`to_little_text` backslash-escapes them, with two
exceptions chosen so that posts still look the way the author wrote them:

- a hashtag ``#word`` (``#`` at the start or after a non-word character, followed by a letter)
  becomes LinkedIn's hashtag template ``{hashtag|\\#|word}``, the only form it renders as a
  clickable hashtag;
- inside a URL only the reserved characters are escaped; a ``#fragment`` stays a fragment.

``@name`` mentions are escaped (shown as text): a real mention needs the member's URN.
"""

from __future__ import annotations

import re

RESERVED = set("|{}@[]()<>#*_~\\")
URL_RE = re.compile(r"https?://[^\s<>\"]+")
HASHTAG_RE = re.compile(r"(?<![\w#\\])#([^\W\d_][\w]*)")
_TEMPLATE_RE = re.compile(r"\{hashtag\|\\#\|([^}]*)\}")
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
# a URL never ends with closing punctuation of the sentence around it
_URL_TRAILING = ".,;:!?)]}'\""


def escape(text: str) -> str:
    """Backslash-escape every reserved character."""
    return "".join("\\" + ch if ch in RESERVED else ch for ch in text)


def to_little_text(text: str) -> str:
    """``text`` as LinkedIn commentary: reserved characters escaped, hashtags kept clickable."""
    out: list[str] = []
    pos = 0
    for url in find_urls(text):
        start = text.index(url, pos)
        out.append(_escape_with_hashtags(text[pos:start]))
        out.append(escape(url))
        pos = start + len(url)
    out.append(_escape_with_hashtags(text[pos:]))
    return "".join(out)


def _escape_with_hashtags(chunk: str) -> str:
    out: list[str] = []
    pos = 0
    for m in HASHTAG_RE.finditer(chunk):
        out.append(escape(chunk[pos : m.start()]))
        out.append("{hashtag|\\#|" + m.group(1) + "}")
        pos = m.end()
    out.append(escape(chunk[pos:]))
    return "".join(out)


def render(little: str) -> str:
    """What LinkedIn shows for ``little``: templates and escapes resolved (used to count length)."""
    return _ESCAPE_RE.sub(r"\1", _TEMPLATE_RE.sub(r"#\1", little))


def find_urls(text: str) -> list[str]:
    """The http(s) URLs in plain text, in order, without trailing sentence punctuation."""
    urls = []
    for m in URL_RE.finditer(text):
        url = m.group(0)
        while url and url[-1] in _URL_TRAILING:
            # keep a closing parenthesis that belongs to the URL, e.g. .../Foo_(bar)
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break
            url = url[:-1]
        if url:
            urls.append(url)
    return urls


def first_url(text: str) -> str | None:
    """The first URL of (plain or little) text, unescaped."""
    urls = find_urls(render(text))
    return urls[0] if urls else None
