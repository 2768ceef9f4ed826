"""Where secrets live: the OS keyring, or files only their owner can read.

Channel plugins store what ``channels connect`` obtained with :func:`save_tokens` and read it
with :func:`load_tokens`. Nothing here ever prints or logs a token; every value read or
stored is handed to :func:`socialsell.redact.remember`, so no later message can carry it.
Files that hold a secret are created 0600 in 0700 folders, and one that its group or others
can read is refused (:func:`check_private`).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from socialsell.errors import UsageError
from socialsell.plugins.channel import AuthError
from socialsell.redact import remember, remember_tokens

SERVICE = "socialsell"


class InsecureFile(AuthError, UsageError):
    """A file holding a secret is readable by its group or others. Bad input for a command
    (exit status 2); for the loop, an account that cannot be used until the file is fixed."""


def check_private(path: Path) -> None:
    """Refuse a secret file that anyone but its owner can read, saying how to fix it."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise InsecureFile(f"{path} holds a secret but its group or others can read it "
                           f"(mode {mode:04o}): run `chmod 600 {path}`")


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner can enter: created 0700 when new, with any missing
    parent (an existing folder keeps its mode)."""
    missing = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically as a 0600 file."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o600)  # an older .tmp left by a crash keeps its mode otherwise
    os.replace(tmp, path)


def read_secret_file(path: Path) -> str | None:
    """A ``{file = ...}`` secret: the file's text (stripped), None when it does not exist."""
    if not path.exists():
        return None
    check_private(path)
    value = path.read_text(encoding="utf-8").strip()
    remember(value)
    return value


def _keyring():
    """The keyring module when a real (not fail/null) backend is available, else None."""
    if os.environ.get("SOCIALSELL_NO_KEYRING"):
        return None
    try:
        import keyring  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)
        from keyring.backends import fail  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

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
    value = kr.get_password(service or SERVICE, user)
    remember(value)
    return value


def token_file(state_dir: Path, account: str) -> Path:
    return state_dir / "tokens" / f"{account}.json"


def save_tokens(state_dir: Path, account: str, tokens: dict[str, Any]) -> str:
    """Store ``tokens`` for an account; returns where they went, for the user (never the value)."""
    remember_tokens(tokens)
    kr = _keyring()
    payload = json.dumps(tokens)
    if kr is not None:
        kr.set_password(SERVICE, f"account:{account}", payload)
        return "the OS keyring"
    path = token_file(state_dir, account)
    private_dir(path.parent)
    os.chmod(path.parent, 0o700)  # also when an older version made it with the umask
    write_private(path, payload)
    return f"{path} (mode 0600: no OS keyring is available on this machine)"


def load_tokens(state_dir: Path, account: str) -> dict[str, Any] | None:
    kr = _keyring()
    if kr is not None:
        value = kr.get_password(SERVICE, f"account:{account}")
        if value:
            tokens = json.loads(value)
            remember_tokens(tokens)
            return tokens
    path = token_file(state_dir, account)
    if path.exists():
        check_private(path)
        tokens = json.loads(path.read_text())
        remember_tokens(tokens)
        return tokens
    return None


def delete_tokens(state_dir: Path, account: str) -> None:
    kr = _keyring()
    if kr is not None:
        with contextlib.suppress(Exception):
            kr.delete_password(SERVICE, f"account:{account}")
    token_file(state_dir, account).unlink(missing_ok=True)
