"""Keeping secrets out of everything socialsell stores, prints or logs (invariant 4 in
docs/architecture.md): the one redaction function, used at every boundary.

A secret leaks in more forms than its raw value: an HTTP client sends a confidential OAuth
client as ``Authorization: Basic base64(client_id:client_secret)``, a form body carries it
URL-encoded, a bearer token travels as ``Bearer <token>``, and a server may echo any of these
back in an error. :func:`redact` masks every form of every secret it knows, plus anything
that looks like a credential by its shape (``Bearer``/``Basic`` values, ``password=...``,
a URL's password).

Secrets become known here when they are resolved: ``{env = ...}``, ``{file = ...}`` and
``{keyring = ...}`` references in the config, and the OAuth tokens a channel loads or stores
(:func:`remember`). They are kept for the life of the process, in memory only.

The boundaries: the error columns of the database and the event log (``RedactedText`` and
``RedactedJSON`` in :mod:`socialsell.db.schema`), channel errors (``ChannelError``), log
records (:mod:`socialsell.logs`) and the CLI's error line (``socialsell.cli.common.fail``).
"""

from __future__ import annotations

import base64
import functools
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MASK = "***"
#: shorter values are not masked: they would blank out ordinary words and numbers
MIN_SECRET_LENGTH = 6

# Credentials recognised by their shape, whoever's they are (a value after ``token=`` needs a
# digit and six characters, so prose like "access_token: a reference" stays). A reference in the config
# (``token = {env = "X"}``) names where a secret is, not the secret: it is left alone, so a
# line stays readable (the mask replaces values, never the syntax around them).
_SHAPES = [
    # a value already partly masked (``Basic ***Ok***g=``) is masked whole
    (r"(?i)\b(bearer|basic)(\s+)(?:[A-Za-z0-9._~+/=-]*\*\*\*[A-Za-z0-9._~+/=*-]*|[A-Za-z0-9._~+/=-]{8,})", rf"\1\2{MASK}"),
    (r"(?i)\b((?:access_|refresh_|bearer_|api_|client_|consumer_)?(?:token|secret|password|api_key|apikey))"
     r"(\"?'?\s*[:=]\s*\"?'?)(?![{\[*])(?=[^\s\"'&,;{}\[\]]*\d)[^\s\"'&,;{}\[\]]{6,}", rf"\1\2{MASK}"),
    (r"(://[^:/@\s]+):[^@/\s]+@", rf"\1:{MASK}@"),
]


@functools.cache
def _compiled_shapes() -> list[tuple[re.Pattern[str], str]]:
    """:data:`_SHAPES` compiled, at the first redaction: compiling them at import cost ~1 ms
    (-X importtime) on every read command, which never redacts anything."""
    return [(re.compile(shape), repl) for shape, repl in _SHAPES]


_lock = threading.Lock()
_known: set[str] = set()
_pattern: re.Pattern[str] | None = None


def remember(*secrets: Any) -> None:
    """Add secret values to what :func:`redact` masks (in every form) from now on."""
    global _pattern
    fresh = {s for s in secrets if isinstance(s, str) and len(s.strip()) >= MIN_SECRET_LENGTH} - _known
    if fresh:
        with _lock:
            _known.update(fresh)
            _pattern = None


def remember_tokens(tokens: Any) -> None:
    """Remember the secret values of a token answer or store (not its type, scope or expiry)."""
    if isinstance(tokens, dict):
        remember(*(v for k, v in tokens.items() if k not in ("token_type", "scope", "expires_at", "expires_in")))


def forms(secret: str) -> set[str]:
    """The forms a secret travels in: raw, URL-encoded, JSON-escaped, and base64 (standard and
    URL-safe) whether it is encoded alone or inside a longer value such as ``client_id:secret``."""
    found = {secret, quote(secret, safe=""), quote_plus(secret), secret.replace("/", "\\/")}
    raw = secret.encode()
    for shift in range(3):
        # base64 of ``prefix + secret + suffix`` contains, whatever the prefix, one of three runs
        # of characters (one per alignment of the secret in a 3-byte group): mask that run.
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        start = (0, 2, 3)[shift]  # the first character fed by the secret's bits alone
        run = encoded[start:].rstrip("=")
        stable = run[: len(run) - (1 if (shift + len(raw)) % 3 else 0)]  # drop the one mixed with the suffix
        if len(stable) >= MIN_SECRET_LENGTH:
            found.add(stable)
            found.add(stable.replace("+", "-").replace("/", "_"))
    found.add(base64.b64encode(raw).decode())
    found.add(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    return {f for f in found if len(f) >= MIN_SECRET_LENGTH}


def _known_pattern() -> re.Pattern[str] | None:
    global _pattern
    with _lock:
        if _pattern is None and _known:
            every = {f for s in _known for f in forms(s)}
            # longest first, so a whole form is masked before a shorter one inside it
            _pattern = re.compile("|".join(re.escape(f) for f in sorted(every, key=len, reverse=True)))
        return _pattern


def redact(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """``value`` (a string, or a dict/list of them) with every known secret, every secret in
    ``secrets``, in any of its :func:`forms`, and anything shaped like a credential replaced
    by ``***``. Other values are returned as they are."""
    if isinstance(value, str):
        if len(value) < MIN_SECRET_LENGTH:  # too short to hold a secret or a credential's shape
            return value
        extra = [s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH and s not in _known]
        for secret in sorted({f for s in extra for f in forms(s)}, key=len, reverse=True):
            value = value.replace(secret, MASK)
        pattern = _known_pattern()
        if pattern is not None:
            value = pattern.sub(MASK, value)
        for shape, repl in _compiled_shapes():
            value = shape.sub(repl, value)
        return value
    if isinstance(value, dict):
        secrets = tuple(secrets)
        return {k: redact(v, secrets) if isinstance(v, _NESTED) else v for k, v in value.items()}
    if isinstance(value, list | tuple):
        secrets = tuple(secrets)
        return [redact(v, secrets) if isinstance(v, _NESTED) else v for v in value]
    return value


_NESTED = (str, dict, list, tuple)  # what redact looks into; numbers and None pass as they are


def one_line(text: Any, secrets: Iterable[str | None] = ()) -> str:
    """``text`` on one line (whitespace collapsed), redacted: for error messages."""
    return redact(" ".join(str(text).split()), secrets)


def redact_url(url: str) -> str:
    """A database URL without its password, for messages and ``status``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL SQLAlchemy can parse: mask by shape
        return redact(url)
