"""X's way of counting text, and threads written as parts separated by ``---`` lines."""

from __future__ import annotations

import re
import warnings

MAX_WEIGHTED_LENGTH = 280

_SEPARATOR = re.compile(r"^[ \t]*---[ \t]*$", re.MULTILINE)


def thread_parts(text: str) -> list[str]:
    """The tweets of ``text``: one part, or several when lines holding only ``---`` split it."""
    parts = [part.strip() for part in _SEPARATOR.split(text)]
    if len(parts) == 1:
        return [text.strip()]
    return parts


def weighted_length(text: str) -> int:
    """Length as X counts it: a URL is 23, CJK characters and emoji are 2."""
    return _parse_tweet()(text).weightedLength


def _parse_tweet():
    # twitter_text compiles large regexes at import (about 0.3 s): import it only when counting.
    # It reads its emoji table through pkg_resources, whose deprecation warning is not the
    # user's business (socialsell depends on a setuptools that still has it).

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        from twitter_text import parse_tweet  # noqa: PLC0415 - twitter-text's parser, only counting an X post needs it
    return parse_tweet
