"""atproto's exceptions as the errors socialsell acts on (docs/plugins.md, "Errors").

A 5xx, or a timeout after the request was sent, on a write may have been applied: such errors
say ``maybe_delivered=True`` and the core reconciles before trying again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from socialsell.api import (
    AuthError,
    ChannelError,
    RateLimited,
    Rejected,
    TransientError,
    redact,
    utcnow,
)

#: the errors a PDS answers when a session (not the app password) stopped working
EXPIRED_SESSION = ("ExpiredToken", "InvalidToken")
#: wait this long after a 429 that names no reset time (Bluesky's windows are 5 minutes)
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=5)


def xrpc_error(exc: BaseException) -> tuple[int | None, str | None, str]:
    """The HTTP status, the XRPC error name and message of an atproto request error."""
    response = getattr(exc, "response", None)
    if response is None:
        return None, None, ""
    content = response.content
    name = getattr(content, "error", None) or (content.get("error") if isinstance(content, dict) else None)
    message = getattr(content, "message", None) or (content.get("message") if isinstance(content, dict) else None)
    return response.status_code, name, message or ""


def session_expired(exc: BaseException) -> bool:
    """The stored session stopped working (the app password may still be good)."""
    from atproto_client import exceptions as x  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

    status, name, _ = xrpc_error(exc)
    return isinstance(exc, x.UnauthorizedError | x.BadRequestError) and (status == 401 or name in EXPIRED_SESSION)


def error_for(exc: BaseException, doing: str, *, write: bool, account: str, secrets: list[Any]) -> ChannelError | None:
    """The socialsell error for ``exc`` raised while ``doing``; None when it is not a network error."""
    import httpx  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)
    from atproto_client import exceptions as x  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

    if isinstance(exc, ChannelError):
        return exc
    status, name, message = xrpc_error(exc)
    said = " ".join(p for p in (str(status) if status else "", name or "", message) if p).strip()

    def text(what: str) -> str:
        return redact(f"Bluesky {what} while {doing}" + (f" ({said})" if said else ""), secrets)

    if isinstance(exc, x.RateLimitExceededError) or status == 429:
        reset = getattr(exc, "reset_at", None)
        retry_at = reset if isinstance(reset, datetime) else utcnow() + DEFAULT_RATE_LIMIT_WAIT
        retry_at = max(retry_at.astimezone(UTC), utcnow() + timedelta(seconds=1))
        return RateLimited(text("rate limit reached") + f"; next call after {retry_at:%H:%M:%S} UTC", retry_at=retry_at, status=429)
    if isinstance(exc, x.UnauthorizedError) or (isinstance(exc, x.BadRequestError) and name in EXPIRED_SESSION):
        return AuthError(text(f"refused the credentials of account {account}") + ": check handle and app_password, "
                         f"then run `socialsell channels resume {account}`", status=status)
    if isinstance(exc, x.InvokeTimeoutError | x.NetworkError) and status is None:
        cause = exc.__cause__
        unsent = isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout)
        kind = "timed out" if isinstance(exc, x.InvokeTimeoutError) else f"connection failed ({type(cause).__name__})"
        return TransientError(text(kind), maybe_delivered=write and not unsent)
    if status is not None and status >= 500:
        return TransientError(text("server error"), status=status, maybe_delivered=write)
    if isinstance(exc, x.RequestErrorBase):
        return Rejected(text("refused the request"), status=status)
    if isinstance(exc, httpx.HTTPError):
        return TransientError(text(f"request failed ({type(exc).__name__})"), maybe_delivered=write)
    if isinstance(exc, x.AtProtocolError):  # an answer atproto could not read, a missing login
        return TransientError(text(f"answer could not be read ({type(exc).__name__})"), maybe_delivered=write)
    return None
