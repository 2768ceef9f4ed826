"""LinkedIn OAuth 2.0: the authorization-code flow with a loopback redirect, and token refresh.

python-linkedin-v2's ``LinkedInAuthentication`` still builds the authorization URL (pointed at
LinkedIn's current endpoint), but its code exchange uses a retired URL and drops the refresh
token, so the exchange and the refresh are done here.
"""

from __future__ import annotations

import re
import secrets as secrets_module
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from socialsell.api import AuthError, LoopbackReceiver, TransientError, redact

AUTHORIZATION_URL = "https://www.linkedin.com/oauth/v2/authorization"
TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
INTROSPECT_URL = "https://www.linkedin.com/oauth/v2/introspectToken"


def parse_scopes(value: Any) -> list[str] | None:
    """Scopes from LinkedIn's ``scope`` (comma or space separated) or a config list."""
    if value is None:
        return None
    if isinstance(value, str):
        return [s for s in re.split(r"[,\s]+", value) if s]
    return [str(s) for s in value]


def tokens_from_response(body: dict[str, Any], *, now: float | None = None, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """What is stored for an account: tokens with absolute expiry times and the granted scopes."""
    now = time.time() if now is None else now
    previous = previous or {}
    tokens: dict[str, Any] = {"access_token": body["access_token"]}
    if body.get("expires_in"):
        tokens["expires_at"] = int(now + int(body["expires_in"]))
    refresh = body.get("refresh_token") or previous.get("refresh_token")
    if refresh:
        tokens["refresh_token"] = refresh
        if body.get("refresh_token_expires_in"):
            tokens["refresh_token_expires_at"] = int(now + int(body["refresh_token_expires_in"]))
        elif previous.get("refresh_token_expires_at"):
            tokens["refresh_token_expires_at"] = previous["refresh_token_expires_at"]
    scopes = parse_scopes(body.get("scope")) or previous.get("scopes")
    if scopes:
        tokens["scopes"] = scopes
    return tokens


def exchange(form: dict[str, str], *, timeout: float, what: str) -> dict[str, Any]:
    """POST ``form`` to the token endpoint; the JSON answer, or an :class:`AuthError`."""
    import requests  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

    hide = [form.get("client_secret"), form.get("code"), form.get("refresh_token")]
    try:
        response = requests.post(TOKEN_URL, data=form, timeout=timeout)
    except requests.exceptions.RequestException as e:
        raise TransientError(f"LinkedIn's token endpoint could not be reached while {what} ({type(e).__name__})") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not response.ok or "access_token" not in body:
        said = body.get("error_description") or body.get("error") or body.get("message") or response.reason
        raise AuthError(redact(f"LinkedIn refused {what} ({response.status_code} {said})", hide))
    return body


def authorize(
    *,
    client_id: str,
    client_secret: str,
    scopes: list[str],
    echo: Callable[[str], Any],
    port: int = 0,
    timeout: float = 300.0,
    http_timeout: float = 30.0,
    open_browser: bool = True,
) -> dict[str, Any]:
    """Run the authorization-code flow on a loopback redirect; return the token response."""
    from linkedin_v2.linkedin import LinkedInAuthentication  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

    state = secrets_module.token_urlsafe(24)
    # a foreign state ends the wait with an error: LinkedIn's flow does not linger after one
    with LoopbackReceiver(state=state, port=port, path="/callback", network="LinkedIn", on_wrong_state="refuse") as receiver:
        redirect_uri = receiver.redirect_uri
        auth = LinkedInAuthentication(client_id, client_secret, redirect_uri, scopes)
        auth.AUTHORIZATION_URL = AUTHORIZATION_URL  # the library's default is the retired /uas/oauth2/ URL
        auth.state = state
        url = auth.authorization_url
        echo(f"Redirect URL (must be listed in your LinkedIn app's Auth settings): {redirect_uri}")
        echo(f"Open this URL to authorize socialsell on LinkedIn: {url}")
        if open_browser:
            import webbrowser  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

            webbrowser.open(url)
        result = receiver.wait(timeout)
    if result is None:
        raise AuthError(f"no answer from LinkedIn's authorization page within {timeout:g}s: run connect again")
    if "error" in result:
        raise AuthError(f"LinkedIn authorization failed: {result.get('error_description') or result['error']}")
    return exchange(
        {
            "grant_type": "authorization_code",
            "code": result["code"],
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
        },
        timeout=http_timeout,
        what="the authorization code",
    )


def expired(tokens: dict[str, Any], key: str = "expires_at", margin: int = 60) -> bool:
    at = tokens.get(key)
    return at is not None and time.time() + margin >= float(at)


def when(epoch: float | None) -> str:
    if epoch is None:
        return "unknown"
    return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M UTC")
