"""Errors the command line turns into one clear line.

``UsageError`` is bad input (exit status 2); ``RuntimeFailure`` is a failure at run time
(exit status 1). Domain code raises these; the CLI catches them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

MISSING: Any = object()  # ConfigError's ``got`` when there is no value to show


class SocialsellError(Exception):
    """Base of the errors shown to the user as one line."""

    exit_code = 1


class UsageError(SocialsellError):
    """Bad input: a bad date, an unknown channel, a template error, a malformed row."""

    exit_code = 2


class ConfigError(UsageError):
    """``socialsell.toml`` is broken. The message names the file, the key and what is expected:
    ``socialsell.toml: [loop] grace: expected a duration like "5m", got 'soon'``.

    ``got``, when given, is the value found (shortened); leave it out for a secret.
    """

    def __init__(self, path: object, key: str | None, expected: str, got: Any = MISSING):
        where = _shown_path(path) + (f": {key}" if key else "")
        if got is MISSING:
            message = f"{where}: {expected}"
        else:
            shown = repr(got)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            message = f"{where}: expected {expected}, got {shown}"
        super().__init__(message)
        self.path = path
        self.key = key


def _shown_path(path: object) -> str:
    """The file as the user knows it: relative to the current folder when inside it."""
    if not isinstance(path, Path):
        return str(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return os.fspath(path)


class NotFound(UsageError):
    """An id or name that does not exist."""


class RuntimeFailure(SocialsellError):
    """Something failed while running (network, database)."""
