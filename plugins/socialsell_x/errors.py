"""Turn what tweepy and requests raise into socialsell's channel errors.

Every message is one line, names what X said, and has every secret the account uses, in
every form, replaced by ``***`` (X echoes request fragments in some error bodies).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from socialsell.api import (
    AuthError,
    ChannelError,
    DuplicateContent,
    RateLimited,
    Rejected,
    ReplyNotAllowed,
    TransientError,
    one_line,
)

#: when X sends a 429 without ``x-rate-limit-reset``, wait a full rate-limit window
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=15)

_DUPLICATE_MARKERS = ("duplicate content", "duplicate")
_REPLY_MARKERS = ("reply to this conversation is not allowed", "reply not allowed", "not allowed to reply")


def messages_of(body: Any) -> list[str]:
    """X's own messages from an error body (v2 ``errors``/``detail``/``title`` or OAuth's ``error``)."""
    if not isinstance(body, Mapping):
        return []
    found: list[str] = []
    errors = body.get("errors")
    if isinstance(errors, list):
        for error in errors:
            if isinstance(error, Mapping):
                text = error.get("message") or error.get("detail") or error.get("title")
                if text:
                    found.append(str(text))
            elif error:
                found.append(str(error))
    if not found and body.get("detail"):
        found.append(str(body["detail"]))
    if not found and body.get("error_description"):
        found.append(str(body["error_description"]))
    if not found and isinstance(body.get("error"), str):
        found.append(str(body["error"]))
    if not found and body.get("title"):
        found.append(str(body["title"]))
    return found


def rate_limit_reset(headers: Mapping[str, str] | None) -> datetime:
    """When the limit resets: ``x-rate-limit-reset`` (epoch seconds), else 15 minutes from now."""
    value = (headers or {}).get("x-rate-limit-reset")
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC) + DEFAULT_RATE_LIMIT_WAIT


def error_for_status(
    status: int,
    messages: list[str],
    headers: Mapping[str, str] | None,
    *,
    write: bool,
    secrets: Iterable[str | None],
    doing: str = "the request",
) -> ChannelError:
    """The channel error for an HTTP error answer from X."""
    secrets = list(secrets)
    said = one_line("; ".join(messages), secrets) if messages else ""
    detail = f": {said}" if said else ""
    if status == 429:
        retry_at = rate_limit_reset(headers)
        return RateLimited(
            f"X rate limit reached for {doing}; next attempt after {retry_at:%Y-%m-%d %H:%M:%S} UTC{detail}",
            retry_at=retry_at,
        )
    if status == 401:
        return AuthError(
            f"X refused the credentials (401){detail}; reconnect the account (`socialsell channels connect`) or fix its keys",
            status=status,
        )
    if status >= 500:
        return TransientError(f"X failed on {doing} ({status}){detail}", status=status, maybe_delivered=write)
    lowered = said.lower()
    if status == 403 and any(m in lowered for m in _DUPLICATE_MARKERS):
        return DuplicateContent(f"X refused a duplicate post (403){detail}", status=status)
    if status == 403 and any(m in lowered for m in _REPLY_MARKERS):
        return ReplyNotAllowed(f"X does not let this app reply here (403){detail}", status=status)
    return Rejected(f"X refused {doing} ({status}){detail or ' without saying why'}", status=status)


def error_for_exception(exc: BaseException, *, write: bool, secrets: Iterable[str | None], doing: str) -> ChannelError:
    """The channel error for an exception raised by tweepy or requests during one call."""
    import requests  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)
    import tweepy  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

    if isinstance(exc, ChannelError):
        return exc
    if isinstance(exc, tweepy.HTTPException):
        response = exc.response
        status = getattr(response, "status_code", None) or getattr(response, "status", 0)
        headers = getattr(response, "headers", None)
        return error_for_status(status, list(exc.api_messages), headers, write=write, secrets=secrets, doing=doing)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransientError(f"X did not accept a connection in time for {doing}", maybe_delivered=False)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return TransientError(f"X did not answer in time for {doing}", maybe_delivered=write)
    if isinstance(exc, requests.exceptions.ConnectionError):
        if _never_sent(exc):
            return TransientError(f"could not connect to X for {doing}", maybe_delivered=False)
        return TransientError(f"the connection to X broke during {doing}", maybe_delivered=write)
    if isinstance(exc, requests.exceptions.RequestException):
        return TransientError(f"the request to X failed during {doing} ({type(exc).__name__})", maybe_delivered=write)
    if isinstance(exc, tweepy.TweepyException):
        return Rejected(one_line(f"tweepy refused {doing}: {exc}", secrets))
    raise exc


def _never_sent(exc: BaseException) -> bool:
    """True when the connection failed before any byte of the request could reach X."""
    import requests  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)
    from urllib3.exceptions import (  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)
        ConnectTimeoutError,
        MaxRetryError,
        NameResolutionError,
        NewConnectionError,
    )

    if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError | NameResolutionError | ConnectionRefusedError)
