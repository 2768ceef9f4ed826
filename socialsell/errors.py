"""Errors the command line turns into one clear line.

``UsageError`` is bad input (exit status 2); ``RuntimeFailure`` is a failure at run time
(exit status 1). Domain code raises these; the CLI catches them.
"""

from __future__ import annotations


class SocialsellError(Exception):
    """Base of the errors shown to the user as one line."""

    exit_code = 1


class UsageError(SocialsellError):
    """Bad input: a bad date, an unknown channel, a template error, a malformed row."""

    exit_code = 2


class ConfigError(UsageError):
    """``socialsell.toml`` is broken. The message names the file, the key and what is expected."""

    def __init__(self, path: object, key: str | None, expected: str):
        where = f"{path}" + (f": {key}" if key else "")
        super().__init__(f"{where}: {expected}")
        self.path = path
        self.key = key


class NotFound(UsageError):
    """An id or name that does not exist."""


class RuntimeFailure(SocialsellError):
    """Something failed while running (network, database)."""
