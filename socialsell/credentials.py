"""Where OAuth tokens live: the OS keyring, or a 0600 file when there is none.

Channel plugins store what ``channels connect`` obtained with :func:`save_tokens` and read it
with :func:`load_tokens`. Nothing here ever prints or logs a token.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

SERVICE = "socialsell"


def _keyring():
    """The keyring module when a real (not fail/null) backend is available, else None."""
    if os.environ.get("SOCIALSELL_NO_KEYRING"):
        return None
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or "null" in type(backend).__module__.lower():
            return None
        if "chainer" in type(backend).__module__.lower() and not getattr(backend, "backends", None):
            return None
        return keyring
    except Exception:
        return None


def keyring_get(ref: str) -> str | None:
    """Read ``service/user`` (or just ``user`` under the socialsell service) from the keyring."""
    service, _, user = ref.rpartition("/")
    kr = _keyring()
    if kr is None:
        return None
    return kr.get_password(service or SERVICE, user)


def token_file(state_dir: Path, account: str) -> Path:
    return state_dir / "tokens" / f"{account}.json"


def save_tokens(state_dir: Path, account: str, tokens: dict[str, Any]) -> str:
    """Store ``tokens`` for an account; returns where they went, for the user (never the value)."""
    kr = _keyring()
    payload = json.dumps(tokens)
    if kr is not None:
        kr.set_password(SERVICE, f"account:{account}", payload)
        return "the OS keyring"
    path = token_file(state_dir, account)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(payload)
    os.replace(path.with_suffix(".tmp"), path)
    return f"{path} (mode 0600: no OS keyring is available on this machine)"


def load_tokens(state_dir: Path, account: str) -> dict[str, Any] | None:
    kr = _keyring()
    if kr is not None:
        value = kr.get_password(SERVICE, f"account:{account}")
        if value:
            return json.loads(value)
    path = token_file(state_dir, account)
    if path.exists():
        return json.loads(path.read_text())
    return None


def delete_tokens(state_dir: Path, account: str) -> None:
    kr = _keyring()
    if kr is not None:
        with contextlib.suppress(Exception):
            kr.delete_password(SERVICE, f"account:{account}")
    token_file(state_dir, account).unlink(missing_ok=True)


def redact(text: str, secrets: list[str | None]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text
