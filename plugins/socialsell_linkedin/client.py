"""HTTP to LinkedIn's REST API through python-linkedin-v2, and LinkedIn's errors as socialsell's.

``linkedin_v2.LinkedInApplication.make_request`` does the request, but as shipped it puts the
access token in the query string (``oauth2_access_token``). :class:`RestClient` keeps the
library's request path and gives it an authentication whose token is ``None`` (requests drops
``None`` parameters), sending the token only as an ``Authorization: Bearer`` header instead.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from socialsell.api import (
    AuthError,
    DuplicateContent,
    RateLimited,
    Rejected,
    TransientError,
    redact,
)

log = logging.getLogger("socialsell.linkedin")

API = "https://api.linkedin.com"
REST = f"{API}/rest"
DEFAULT_VERSION = "202510"
DUPLICATE_URN_RE = re.compile(r"urn:li:(?:share|ugcPost|activity|post):[0-9A-Za-z_-]+")


def urn_path(urn: str) -> str:
    """A URN encoded for a URL path segment or a Rest.li value (``:`` ``(`` ``,`` encoded)."""
    return quote(urn, safe="")


def next_midnight_utc(now: datetime | None = None) -> datetime:
    """LinkedIn's daily limits reset at midnight UTC."""
    now = now or datetime.now(UTC)
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


class RestClient:
    """One account's connection to api.linkedin.com.

    :param bearer: returns the current access token (it may refresh it first).
    :param secrets: returns every secret value to strip from error messages.
    :param on_unauthorized: called on a 401; returns True when it obtained a new token,
        in which case the request is sent once more.
    :param on_request: called before every HTTP request (the channel counts them).
    """

    def __init__(
        self,
        bearer: Callable[[], str],
        *,
        version: str,
        timeout: float,
        secrets: Callable[[], list[str | None]],
        on_unauthorized: Callable[[], bool] | None = None,
        on_request: Callable[[], None] | None = None,
    ):
        from linkedin_v2.linkedin import LinkedInApplication, LinkedInAuthentication  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)
        from linkedin_v2.models import AccessToken  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

        authentication = LinkedInAuthentication("", "", "")
        # None: the library's ``oauth2_access_token`` query parameter is dropped by requests
        authentication.token = AccessToken(None, None)
        self.app = LinkedInApplication(authentication=authentication)
        self.bearer = bearer
        self.version = version
        self.timeout = timeout
        self.secrets = secrets
        self.on_unauthorized = on_unauthorized
        self.on_request = on_request

    # -- requests ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        write: bool | None = None,
        allow: tuple[int, ...] = (),
    ) -> Any:
        """Send one request; return the response (2xx, or a status in ``allow``).

        ``url`` is absolute or relative to ``/rest``, with its query string already encoded
        (Rest.li needs ``List(...)`` and ``(key:value)`` unencoded around encoded URNs).
        Raises the :mod:`socialsell.plugins.channel` error for anything else.
        """
        import requests  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

        if not url.startswith("https://"):
            url = f"{REST}/{url.lstrip('/')}"
        write = method.upper() not in ("GET", "HEAD") if write is None else write
        data = json.dumps(body) if body is not None else None
        for attempt in (1, 2):
            sent = {
                "Authorization": f"Bearer {self.bearer()}",
                "LinkedIn-Version": self.version,
                "X-Restli-Protocol-Version": "2.0.0",
                **(headers or {}),
            }
            if self.on_request:
                self.on_request()
            try:
                response = self.app.make_request(
                    method, url, data=data, headers=sent, timeout=self.timeout
                )
            except requests.exceptions.ConnectTimeout:
                raise TransientError(self._clean(f"LinkedIn could not be reached within {self.timeout:g}s ({method} {_path(url)})")) from None
            except requests.exceptions.Timeout:
                raise TransientError(
                    self._clean(f"LinkedIn did not answer within {self.timeout:g}s ({method} {_path(url)})"),
                    maybe_delivered=write,
                ) from None
            except requests.exceptions.ConnectionError as e:
                never_sent = _never_sent(e)
                raise TransientError(
                    self._clean(
                        f"LinkedIn connection failed before the request was sent ({method} {_path(url)}): {type(e).__name__}"
                        if never_sent else f"LinkedIn connection failed ({method} {_path(url)}): {type(e).__name__}"
                    ),
                    # DNS, refused or TLS: nothing reached LinkedIn, so a publish is "not sent"
                    maybe_delivered=write and not never_sent,
                ) from None
            except requests.exceptions.RequestException as e:
                raise TransientError(
                    self._clean(f"LinkedIn connection failed ({method} {_path(url)}): {type(e).__name__}"),
                    maybe_delivered=write,
                ) from None
            log.debug("LinkedIn %s %s -> %s", method, _path(url), response.status_code)
            if response.status_code == 401 and attempt == 1 and self.on_unauthorized and self.on_unauthorized():
                continue
            if response.ok or response.status_code in allow:
                return response
            self.raise_for(response, method, url, write)
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, url: str, **kw: Any) -> Any:
        return self.request("GET", url, **kw).json()

    # -- errors --------------------------------------------------------------------------

    def raise_for(self, response: Any, method: str, url: str, write: bool) -> None:
        """Raise the socialsell error for a failed LinkedIn response."""
        status = response.status_code
        info = _error_body(response)
        code = info.get("code") or info.get("error")
        message = info.get("message") or info.get("error_description") or response.reason or ""
        where = f"{method} {_path(url)}"
        said = self._clean(f"{code}: {message}" if code else message).strip(": ")
        if status == 401:
            raise AuthError(self._clean(f"LinkedIn refused the access token (401 {said or 'unauthorized'}): reconnect the account"), status=status)
        if status == 403:
            raise Rejected(self._clean(f"LinkedIn denied {where} (403 {said}); the token may lack a scope"), status=status)
        if status == 422 and (code == "DUPLICATE_POST" or "duplicate" in message.lower()):
            m = DUPLICATE_URN_RE.search(message)
            raise DuplicateContent(
                self._clean(f"LinkedIn says this post is a duplicate (422 {said})"),
                existing_id=m.group(0) if m else None,
                status=status,
            )
        if status == 429:
            retry_at = next_midnight_utc()
            raise RateLimited(
                f"LinkedIn's daily request limit is reached (429); it resets at {retry_at:%Y-%m-%d %H:%M} UTC",
                retry_at=retry_at,
            )
        if status >= 500:
            raise TransientError(
                self._clean(f"LinkedIn failed on {where} ({status} {said or 'server error'})"),
                status=status,
                maybe_delivered=write,
            )
        raise Rejected(self._clean(f"LinkedIn rejected {where} ({status} {said or 'bad request'})"), status=status)

    def _clean(self, text: str) -> str:
        return redact(" ".join(text.split()), list(self.secrets()))


def _never_sent(exc: BaseException) -> bool:
    """True when the connection failed before any byte of the request could reach LinkedIn:
    the name did not resolve, the connection was refused or timed out, TLS or the proxy failed.
    A connection reset or closed after the request went out is not: it may have been applied."""
    import requests  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)
    from urllib3.exceptions import (  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)
        ConnectTimeoutError,
        MaxRetryError,
        NameResolutionError,
        NewConnectionError,
        ProxyError,
        SSLError,
    )

    if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(
        reason, NewConnectionError | ConnectTimeoutError | NameResolutionError | ConnectionRefusedError | SSLError | ProxyError
    )


def _error_body(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _path(url: str) -> str:
    """The path of ``url`` for messages (the query string is left out)."""
    return urlsplit(url).path or url
