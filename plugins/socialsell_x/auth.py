"""How an X account authenticates: OAuth 1.0a keys, or OAuth 2.0 PKCE tokens from ``connect``.

OAuth 2.0 tokens live where :mod:`socialsell.credentials` puts them (the OS keyring or a 0600
file), never in the config or the database. An expired access token is refreshed with the
``offline.access`` refresh token at most once per channel call; a refused refresh is an
:class:`~socialsell.plugins.channel.AuthError` telling the user to connect again.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import time
import webbrowser
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from socialsell.api import (
    AuthError,
    LoopbackReceiver,
    TransientError,
    load_tokens,
    one_line,
    save_tokens,
)
from socialsell_x.errors import error_for_exception, messages_of

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from socialsell.api import Account

AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
TOKEN_URL = "https://api.x.com/2/oauth2/token"
SCOPES = ("tweet.read", "tweet.write", "users.read", "like.read", "media.write", "offline.access")
#: the callback X must know (App settings > User authentication > Callback URI)
DEFAULT_CALLBACK_PORT = 8723
CALLBACK_PATH = "/callback"
#: refresh this many seconds before the access token's announced expiry
EXPIRY_MARGIN = 60

OAUTH1_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


@dataclass
class Credentials:
    """The secrets one account signs its requests with."""

    mode: str  # "oauth1" or "oauth2"
    oauth1: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, Any] = field(default_factory=dict)
    client_id: str | None = None
    client_secret: str | None = None

    @property
    def user_auth(self) -> bool:
        """tweepy's switch: OAuth 1.0a signing (True) or a bearer token (False)."""
        return self.mode == "oauth1"

    @property
    def bearer_token(self) -> str | None:
        return self.tokens.get("access_token") if self.mode == "oauth2" else None

    def secrets(self) -> list[str | None]:
        """Every secret value, for redaction."""
        values: list[str | None] = list(self.oauth1.values())
        values += [self.tokens.get("access_token"), self.tokens.get("refresh_token"), self.client_secret]
        return values

    def expired(self, now: float | None = None) -> bool:
        expires_at = self.tokens.get("expires_at")
        if self.mode != "oauth2" or not expires_at:
            return False
        return (now if now is not None else time.time()) >= float(expires_at) - EXPIRY_MARGIN

    def can_refresh(self) -> bool:
        return self.mode == "oauth2" and bool(self.tokens.get("refresh_token")) and bool(self.client_id)

    def scopes(self) -> set[str] | None:
        scope = self.tokens.get("scope")
        if self.mode != "oauth2" or scope is None:
            return None
        return set(scope.split() if isinstance(scope, str) else scope)


def load_credentials(account: Account) -> Credentials:
    """The account's credentials, or an AuthError naming the settings to add."""
    oauth1 = {key: account.setting(key) for key in OAUTH1_KEYS}
    configured = [key for key in OAUTH1_KEYS if account.has_setting(key)]
    if configured:
        missing = [key for key, value in oauth1.items() if not value]
        if missing:
            raise AuthError(
                f"X account {account.name!r} uses OAuth 1.0a but {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} empty or unset (check the environment variables they name)"
            )
        return Credentials(mode="oauth1", oauth1={k: str(v) for k, v in oauth1.items()})
    client_id = account.setting("client_id")
    if not client_id:
        raise AuthError(
            f"X account {account.name!r} has no credentials: set client_id (OAuth 2.0) and run "
            f"`socialsell channels connect {account.name}`, or set consumer_key, consumer_secret, "
            "access_token and access_token_secret (OAuth 1.0a)"
        )
    tokens = load_tokens(account.workspace.state_dir, account.name)
    if not tokens or not tokens.get("access_token"):
        raise AuthError(f"X account {account.name!r} is not connected: run `socialsell channels connect {account.name}`")
    return Credentials(
        mode="oauth2", tokens=tokens, client_id=str(client_id), client_secret=account.setting("client_secret")
    )


def tokens_from_answer(answer: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """What to store from a token endpoint answer (X rotates the refresh token)."""
    tokens = {
        "access_token": answer["access_token"],
        "token_type": answer.get("token_type", "bearer"),
        "scope": answer.get("scope", (previous or {}).get("scope")),
        "refresh_token": answer.get("refresh_token", (previous or {}).get("refresh_token")),
    }
    if answer.get("expires_in"):
        tokens["expires_at"] = int(time.time()) + int(answer["expires_in"])
    return tokens


def token_request(
    session: requests.Session,
    client: tuple[str, str | None],
    data: dict[str, str],
    secrets_: list[str | None],
) -> dict[str, Any]:
    """POST to X's token endpoint; the answer's JSON, or an AuthError/TransientError.

    :param client: the OAuth 2.0 client id and, for a confidential client, its secret.
    """
    client_id, client_secret = client
    auth = None
    if client_secret:
        auth = (client_id, client_secret)  # a confidential client authenticates with HTTP Basic
    else:
        data = {**data, "client_id": client_id}
    secrets_ = [*secrets_, client_secret, data.get("refresh_token"), data.get("code"), data.get("code_verifier")]
    try:
        response = session.post(TOKEN_URL, data=data, auth=auth, headers={"Accept": "application/json"})
    except Exception as exc:  # requests' network errors
        raise error_for_exception(exc, write=False, secrets=secrets_, doing="the token request") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 500:
        raise TransientError(f"X's token endpoint failed ({response.status_code})", status=response.status_code)
    if response.status_code != 200 or "access_token" not in body:
        said = one_line("; ".join(messages_of(body)) or f"HTTP {response.status_code}", secrets_)
        raise AuthError(f"X refused the token request: {said}", status=response.status_code)
    return body


def refresh_tokens(session: requests.Session, account: Account, creds: Credentials) -> None:
    """Exchange the refresh token for new tokens, store them, and update ``creds`` in place."""
    # Another worker may have refreshed already (X rotates refresh tokens: ours is then spent).
    stored = load_tokens(account.workspace.state_dir, account.name) or {}
    if stored.get("access_token") and stored.get("access_token") != creds.tokens.get("access_token"):
        creds.tokens = stored
        if not creds.expired():
            return
    if not creds.can_refresh():
        raise AuthError(
            f"the X token of {account.name!r} expired and cannot be refreshed (no offline.access): "
            f"run `socialsell channels connect {account.name}`"
        )
    try:
        answer = token_request(
            session,
            (str(creds.client_id), creds.client_secret),
            {"grant_type": "refresh_token", "refresh_token": str(creds.tokens["refresh_token"])},
            creds.secrets(),
        )
    except AuthError as exc:
        raise AuthError(f"{exc}; run `socialsell channels connect {account.name}`", status=exc.status) from None
    creds.tokens = tokens_from_answer(answer, creds.tokens)
    save_tokens(account.workspace.state_dir, account.name, creds.tokens)


# --- connect: OAuth 2.0 authorization code with PKCE and a loopback redirect ------------------


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)[:128]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize(
    session: requests.Session, account: Account, echo: Any, *, port: int, wait: float
) -> dict[str, Any]:
    """Run the browser sign-in and return the tokens X issued (not yet stored)."""
    client_id = account.setting("client_id")
    if not client_id:
        raise AuthError(
            f"X account {account.name!r} needs client_id (from the X developer portal, OAuth 2.0 "
            "Client ID) to connect; or use OAuth 1.0a keys, which need no connect step"
        )
    client_secret = account.setting("client_secret")
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    try:
        receiver = LoopbackReceiver(state=state, port=port, path=CALLBACK_PATH, network="X")
    except AuthError as exc:
        raise AuthError(f"{exc}; set callback_port in accounts.{account.name} to a free port registered as the app's callback") from None
    with receiver:
        redirect_uri = receiver.redirect_uri
        url = AUTHORIZE_URL + "?" + urlencode({
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(SCOPES),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        })
        echo(f"Open this link to let socialsell use the X account (callback {redirect_uri}):")
        echo(url)
        with contextlib.suppress(Exception):  # a headless machine: the printed link is enough
            webbrowser.open(url)
        params = receiver.wait(wait)
    if params is None:
        raise AuthError(f"no answer from X within {int(wait)} s; run `socialsell channels connect {account.name}` again")
    if "error" in params:
        raise AuthError(f"X did not authorize socialsell: {params['error']}")
    if not params.get("code"):
        raise AuthError("X's redirect carried no authorization code")
    answer = token_request(
        session,
        (str(client_id), client_secret),
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        [client_secret],
    )
    return tokens_from_answer(answer)
