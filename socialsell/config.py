"""The workspace: ``socialsell.toml``, its validation, and secret references.

Secrets are never values in the file: ``token = {env = "X_TOKEN"}`` reads the environment,
``token = {keyring = "socialsell/x"}`` the OS keyring. A broken file is one
:class:`~socialsell.errors.ConfigError` naming the file, the key and what was expected.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from socialsell.errors import ConfigError
from socialsell.redact import remember

CONFIG_NAME = "socialsell.toml"
DB_NAME = "socialsell.db"

ENGAGEMENT_WEIGHTS = {
    "message": 12.0,
    "reply": 8.0,
    "comment": 8.0,
    "mention": 6.0,
    "quote": 6.0,
    "repost": 3.0,
    "follow": 2.0,
    "like": 1.0,
}
INTENT_KEYWORDS = [
    "pricing", "price", "cost", "quote", "demo", "trial", "how do i", "how does", "buy",
    "purchase", "contract", "budget", "integrate", "integration", "talk to sales",
]  # fmt: skip
SECRET_KEYS = ("token", "secret", "password", "key", "refresh")


@dataclass
class Rep:
    name: str
    email: str | None = None
    territories: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)


@dataclass
class Account:
    """One channel account (``[[accounts]]`` in the config)."""

    name: str
    channel: str
    settings: dict[str, Any]
    workspace: Workspace
    poll_interval: int | None = None
    engagement_window_days: int = 7
    slots: list[str] = field(default_factory=list)

    def setting(self, key: str, default: Any = None) -> Any:
        value = self.settings.get(key, default)
        return self.workspace.resolve_secret(value, f"accounts.{self.name}.{key}")

    def has_setting(self, key: str) -> bool:
        return key in self.settings


@dataclass
class Workspace:
    """A loaded workspace: the folder, its config and where its database is."""

    root: Path
    config_path: Path
    data: dict[str, Any]
    timezone: ZoneInfo
    accounts: dict[str, Account]
    team: list[Rep]
    db_url: str

    @property
    def name(self) -> str:
        return self.data.get("workspace", {}).get("name", self.root.name)

    def section(self, name: str) -> dict[str, Any]:
        return self.data.get(name, {}) or {}

    def account(self, name: str) -> Account:
        from socialsell.errors import UsageError

        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none"
            raise UsageError(
                f"unknown channel account {name!r} (configured: {known}; add it under [[accounts]] in {self.config_path.name})"
            ) from None

    def rep(self, name: str) -> Rep | None:
        return next((r for r in self.team if r.name == name), None)

    def resolve_secret(self, value: Any, key: str) -> Any:
        """Turn ``{env = "NAME"}`` / ``{keyring = "service/user"}`` into the value."""
        if not isinstance(value, dict):
            return value
        if "env" in value:
            secret = os.environ.get(str(value["env"])) or None
            remember(secret)  # from now on no message, log line or stored error can carry it
            return secret
        # imported here: credentials brings the channel errors, which read-only commands
        # (they never resolve a secret) should not load
        from socialsell.credentials import keyring_get, read_secret_file

        if "keyring" in value:
            return keyring_get(str(value["keyring"]))
        if "file" in value:
            return read_secret_file((self.root / str(value["file"])).expanduser())
        raise ConfigError(self.config_path, key, 'a secret reference: {env = "NAME"}, {keyring = "service/user"} or {file = "path"}')

    @property
    def state_dir(self) -> Path:
        from socialsell.credentials import private_dir  # see resolve_secret

        return private_dir(self.root / ".socialsell")  # token files live here: 0700


def parse_duration(value: Any, path: Path, key: str) -> int:
    """Seconds from ``300``, ``"90s"``, ``"5m"``, ``"2h"``, ``"1d"``."""
    if isinstance(value, bool):
        raise ConfigError(path, key, "a duration like 300, \"5m\", \"2h\" or \"1d\"")
    if isinstance(value, int | float) and value > 0:
        return int(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(value))
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(path, key, f"a duration like 300, \"5m\", \"2h\" or \"1d\", not {value!r}")
    mult = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
    return int(float(m.group(1)) * mult)


def find_config(path: str | os.PathLike[str] | None) -> Path:
    if path:
        p = Path(path).expanduser()
        return p / CONFIG_NAME if p.is_dir() else p
    env = os.environ.get("SOCIALSELL_CONFIG")
    if env:
        return find_config(env)
    return Path.cwd() / CONFIG_NAME


def load_workspace(config: str | os.PathLike[str] | None = None, db_url: str | None = None) -> Workspace:
    """Read and validate ``socialsell.toml``. Raises :class:`ConfigError` on any problem."""
    path = find_config(config)
    if not path.exists():
        raise ConfigError(path, None, "no workspace here: run `socialsell init` first, or pass --config PATH")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, None, f"not valid TOML ({e})") from None
    except OSError as e:
        raise ConfigError(path, None, f"cannot be read ({e.strerror})") from None
    return build_workspace(path, data, db_url)


def build_workspace(path: Path, data: dict[str, Any], db_url: str | None = None) -> Workspace:
    root = path.parent.resolve()
    ws_section = _table(data, "workspace", path)
    tz_name = ws_section.get("timezone", "UTC")
    try:
        tz = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(path, "workspace.timezone", f"an IANA time zone like \"Europe/Berlin\", not {tz_name!r}") from None

    url = db_url or os.environ.get("SOCIALSELL_DB") or ws_section.get("database")
    if url is None:
        url = f"sqlite:///{root / DB_NAME}"
    elif not isinstance(url, str) or "://" not in url:
        raise ConfigError(path, "workspace.database", f"a database URL like sqlite:///socialsell.db or postgresql+psycopg://host/db, not {url!r}")
    elif url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        url = f"sqlite:///{root / url[len('sqlite:///'):]}"

    workspace = Workspace(root=root, config_path=path, data=data, timezone=tz, accounts={}, team=[], db_url=url)

    accounts = data.get("accounts", [])
    if not isinstance(accounts, list):
        raise ConfigError(path, "accounts", "an array of tables: [[accounts]] with name and channel")
    for i, raw in enumerate(accounts):
        key = f"accounts[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(path, key, "a table with name and channel")
        name = raw.get("name")
        channel = raw.get("channel")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise ConfigError(path, f"{key}.name", "a name of letters, digits, '-', '_' or '.'")
        if not isinstance(channel, str) or not channel:
            raise ConfigError(path, f"accounts.{name}.channel", "the channel type, e.g. \"x\", \"linkedin\" or \"sandbox\"")
        if name in workspace.accounts:
            raise ConfigError(path, f"accounts.{name}", "a unique name (it is used twice)")
        for k, v in raw.items():
            if any(s in k.lower() for s in SECRET_KEYS) and isinstance(v, str) and v:
                raise ConfigError(path, f"accounts.{name}.{k}", 'a reference, not the secret itself: {env = "NAME"} or {keyring = "service/user"}')
        poll = parse_duration(raw["poll_interval"], path, f"accounts.{name}.poll_interval") if "poll_interval" in raw else None
        window = raw.get("engagement_window_days", 7)
        if not isinstance(window, int) or window < 1:
            raise ConfigError(path, f"accounts.{name}.engagement_window_days", "a whole number of days, at least 1")
        slots = raw.get("slots", [])
        if isinstance(slots, str):
            slots = [slots]
        if not isinstance(slots, list) or not all(isinstance(s, str) for s in slots):
            raise ConfigError(path, f"accounts.{name}.slots", 'a list like ["mon-fri 09:00, 12:30"]')
        workspace.accounts[name] = Account(
            name=name, channel=channel, settings=dict(raw), workspace=workspace,
            poll_interval=poll, engagement_window_days=window, slots=list(slots),
        )

    team = _table(data, "team", path)
    reps = team.get("reps", [])
    if not isinstance(reps, list):
        raise ConfigError(path, "team.reps", "an array of tables: [[team.reps]] with a name")
    for i, raw in enumerate(reps):
        if isinstance(raw, str):
            raw = {"name": raw}
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise ConfigError(path, f"team.reps[{i}]", "a table with a name (and optional email, territories, channels, keywords)")
        for listkey in ("territories", "channels", "keywords"):
            if not isinstance(raw.get(listkey, []), list):
                raise ConfigError(path, f"team.reps.{raw['name']}.{listkey}", "a list of strings")
        workspace.team.append(Rep(
            name=raw["name"], email=raw.get("email"), territories=list(raw.get("territories", [])),
            channels=list(raw.get("channels", [])), keywords=list(raw.get("keywords", [])),
        ))
    for name in ("sla", "leads", "guardrails", "notify", "loop"):
        _table(data, name, path)
    validate_business_hours(workspace)
    return workspace


def _table(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(path, name, f"a table: [{name}]")
    return value


def validate_business_hours(workspace: Workspace) -> None:
    sla = workspace.section("sla")
    hours = sla.get("business_hours", "mon-fri 09:00-17:00")
    from socialsell.timeparse import parse_business_hours

    if not isinstance(hours, str):
        raise ConfigError(workspace.config_path, "sla.business_hours", 'a string like "mon-fri 09:00-17:00"')
    try:
        parse_business_hours(hours)
    except ValueError as e:
        raise ConfigError(workspace.config_path, "sla.business_hours", str(e)) from None
    for key in ("response_hours", "high_intent_hours", "escalate_after_hours"):
        v = sla.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or v <= 0):
            raise ConfigError(workspace.config_path, f"sla.{key}", "a positive number of business hours")


def parse_hhmm(text: str) -> time:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"a time like 09:00, not {text!r}")
    return time(int(m.group(1)), int(m.group(2)))
