"""The workspace: its folder, its settings (``socialsell.toml``), its accounts; load and init.

Secrets are never values in the file: ``token = {env = "X_TOKEN"}`` reads the environment,
``token = {keyring = "socialsell/x"}`` the OS keyring, ``{file = "path"}`` a file. A broken file
is one :class:`~socialsell.errors.ConfigError` at load naming the file, the key and what was
expected (the checks are in :mod:`socialsell.settings`).
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from socialsell.errors import ConfigError, UsageError
from socialsell.records import field, record
from socialsell.redact import remember
from socialsell.settings import (
    CONFIG_NAME,
    KNOWN_KEYS,
    SECRET_REFERENCE,
    AccountSettings,
    Rep,
    Setting,
    Settings,
    check_declared,
    check_plugin_section_names,
    database_url,
    parse_settings,
)


@record
class Account:
    """One channel account (``[[accounts]]`` in the config): the core's keys typed, and every
    key as written in ``settings`` for the channel plugin (read secrets with :meth:`setting`)."""

    name: str
    channel: str
    settings: dict[str, Any]
    workspace: Workspace
    poll_interval: int | None = None
    engagement_window_days: int = 7
    slots: list[str] = field(default_factory=list)
    handle: str | None = None
    #: the rep whose own account this is (``owner = "alice"``): only their shares publish from
    #: it (docs/advocacy.md); None for the brand's accounts
    owner: str | None = None

    @classmethod
    def from_settings(cls, s: AccountSettings, workspace: Workspace) -> Account:
        return cls(name=s.name, channel=s.channel, settings=dict(s.raw), workspace=workspace,
                   poll_interval=s.poll_interval, engagement_window_days=s.engagement_window_days,
                   slots=list(s.slots), handle=s.handle, owner=s.owner)

    def setting(self, key: str, default: Any = None) -> Any:
        value = self.settings.get(key, default)
        return self.workspace.resolve_secret(value, f"accounts.{self.name}.{key}")

    def has_setting(self, key: str) -> bool:
        return key in self.settings


@record(frozen=True)
class PluginSettings:
    """A plugin's own section of ``socialsell.toml``, checked against what the plugin declared
    (``register_settings``): ``get(key)`` the checked value or its declared default,
    ``setting(key)`` the same with a secret reference resolved (like :meth:`Account.setting`)."""

    section: str
    values: Mapping[str, Any]
    workspace: Workspace = field(repr=False)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def setting(self, key: str, default: Any = None) -> Any:
        return self.workspace.resolve_secret(self.values.get(key, default), f"{self.section}.{key}")


@record
class Workspace:
    """A loaded workspace: the folder, its typed settings, its accounts and where its database is."""

    root: Path
    config_path: Path
    settings: Settings
    accounts: dict[str, Account]
    db_url: str
    #: the plugins' own sections, checked (:meth:`apply_declared_sections`), by name
    plugin_settings: dict[str, PluginSettings] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.settings.workspace.name or self.root.name

    @property
    def timezone(self) -> ZoneInfo:
        return self.settings.workspace.timezone

    @property
    def team(self) -> list[Rep]:
        return self.settings.team.reps

    def account(self, name: str) -> Account:
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none"
            raise UsageError(
                f"unknown channel account {name!r} (configured: {known}; add it under [[accounts]] in {self.config_path.name})"
            ) from None

    def apply_declared_sections(self, sections: Mapping[str, Sequence[Setting]], installed: Iterable[str]) -> None:
        """The plugins' own sections against their declarations (``register_settings``), once
        the plugins have loaded: one ConfigError like any setting's. A section of a plugin installed but not loaded (blocked, not allowed) is left alone."""
        installed = set(installed)
        for name, data in self.settings.plugin_sections.items():
            if name in sections:
                values = check_declared(self.config_path, f"[{name}]", data, sections[name])
                self.plugin_settings[name] = PluginSettings(name, MappingProxyType(values), self)
            elif name not in installed:
                raise ConfigError(self.config_path, f"[{name}]", "unknown section: no installed plugin declares it")

    def apply_account_settings(self, channels: Mapping[str, Sequence[Setting] | None]) -> None:
        """The accounts' own keys against what their channel type declares (``Channel.settings``),
        once the channel types are registered."""
        for account in self.accounts.values():
            declared = channels.get(account.channel)
            if declared is not None:
                account.settings = check_declared(self.config_path, f"[[accounts]] {account.name}", account.settings,
                                                  declared, also_allowed=KNOWN_KEYS["accounts"])

    def rep(self, name: str) -> Rep | None:
        return next((r for r in self.team if r.name == name), None)

    def resolve_secret(self, value: Any, key: str) -> Any:
        """Turn ``{env = "NAME"}`` / ``{keyring = "service/user"}`` / ``{file = "path"}`` into the value."""
        if not isinstance(value, dict):
            return value
        if "env" in value:
            secret = os.environ.get(str(value["env"])) or None
            remember(secret)  # from now on no message, log line or stored error can carry it
            return secret
        # imported here: credentials brings the channel errors, which read-only commands (they
        # never resolve a secret) should not load
        from socialsell.credentials import keyring_get, read_secret_file  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load socialsell.credentials; kept off its path

        if "keyring" in value:
            return keyring_get(str(value["keyring"]))
        if "file" in value:  # refused, with the fix, when others can read it
            return read_secret_file((self.root / str(value["file"])).expanduser())
        raise ConfigError(self.config_path, key, SECRET_REFERENCE)

    @property
    def state_dir(self) -> Path:
        from socialsell.credentials import private_dir  # see resolve_secret  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load socialsell.credentials; kept off its path

        return private_dir(self.root / ".socialsell")  # token files live here: 0700


def find_config(path: str | os.PathLike[str] | None) -> Path:
    """The config file: ``--config`` (a file or its folder), else ``SOCIALSELL_CONFIG``, else ./socialsell.toml."""
    if path:
        p = Path(path).expanduser()
        return p / CONFIG_NAME if p.is_dir() else p
    env = os.environ.get("SOCIALSELL_CONFIG")
    if env:
        return find_config(env)
    return Path.cwd() / CONFIG_NAME


def load_workspace(config: str | os.PathLike[str] | None = None, db_url: str | None = None,
                   plugins_dir: str | os.PathLike[str] | None = None) -> Workspace:
    """Read and check ``socialsell.toml`` whole. Raises :class:`ConfigError` on any problem."""
    path = find_config(config)
    if not path.exists():
        raise ConfigError(path, None, "no workspace here: run `socialsell init` first, or pass --config PATH")
    if not path.is_file():  # /dev/null or a pipe: the database would be created beside it
        raise ConfigError(path, None, "not a regular file: pass the workspace's socialsell.toml or its folder")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, None, f"not valid TOML ({e})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(path, None, f"cannot be read ({getattr(e, 'strerror', None) or e})") from None
    return build_workspace(path, data, db_url, plugins_dir)


def build_workspace(path: Path, data: dict[str, Any], db_url: str | None = None,
                    plugins_dir: str | os.PathLike[str] | None = None) -> Workspace:
    """A workspace from an already parsed config (``path`` names the file in errors)."""
    settings = parse_settings(path, data)
    if settings.plugin_sections:  # only then: finding the plugins costs ~10 ms a read command need not pay
        from socialsell.plugins.manager import installed_plugin_names  # noqa: PLC0415 - pluggy, importlib.metadata

        check_plugin_section_names(path, settings, installed_plugin_names(plugins_dir))
    root = path.parent.resolve()
    workspace = Workspace(root=root, config_path=path, settings=settings, accounts={},
                          db_url=database_url(settings, root, db_url))
    workspace.accounts = {a.name: Account.from_settings(a, workspace) for a in settings.accounts}
    return workspace


DEFAULT_CONFIG = '''\
# socialsell workspace. Times are stored in UTC and shown in this time zone.
# Every section and key: docs/configuration.md in the socialsell repository. Secrets are never written here:
# use {{env = "NAME"}} (an environment variable) or {{keyring = "service/user"}} (the OS keyring).

[workspace]
name = "{name}"
timezone = "{timezone}"
# database = "postgresql+psycopg://socialsell@db.internal/socialsell"   # default: socialsell.db here
require_approval = false          # true: posts are drafts until `socialsell post approve ID`

# --- channel accounts ------------------------------------------------------------------------
# `--channel NAME` takes an account name. The sandbox is a simulated network in this folder:
# it works without credentials and its simulated audience reacts to what you publish.
[[accounts]]
name = "sandbox"
channel = "sandbox"
poll_interval = "1m"
slots = ["mon-fri 09:00, 12:30, 16:00"]     # weekly posting slots for `post new --queue`

# [[accounts]]
# name = "acme-x"
# channel = "x"
# client_id = {{env = "X_CLIENT_ID"}}        # then: socialsell channels connect acme-x
# poll_interval = "15m"
# engagement_window_days = 7
# slots = ["mon-fri 08:30, 12:00, 17:30"]

# [[accounts]]
# name = "acme-page"
# channel = "linkedin"
# author = "urn:li:organization:12345"
# client_id = {{env = "LINKEDIN_CLIENT_ID"}}
# client_secret = {{env = "LINKEDIN_CLIENT_SECRET"}}
# slots = ["tue,thu 10:00"]

# --- the sales team ----------------------------------------------------------------------------
# Follow-ups are routed to the contact's owner, then [[routing]] rules, then a rep whose
# territories / channels / keywords match, then round-robin (fewest open tasks).
[team]
lead = "morgan"

[[team.reps]]
name = "alice"
email = "alice@example.com"
territories = ["Germany", "France", "Spain", "Portugal", "Netherlands"]

[[team.reps]]
name = "bob"
email = "bob@example.com"
territories = ["UK", "Ireland", "Sweden", "Singapore", "UAE"]

# [[routing]]
# keyword = "enterprise"
# owner = "alice"

# --- the SLA between marketing and sales ---------------------------------------------------------
[sla]
business_hours = "mon-fri 09:00-17:30"
response_hours = 4                # business hours to first touch a new follow-up
high_intent_hours = 1             # ...when they asked about pricing, a demo, a trial
escalate_after_hours = 8          # then the team lead is told
holidays = []                     # ["2026-12-25", "2026-12-26"]

[sla.marketing]                   # what marketing commits to (see docs/reports.md)
cadence = {{ sandbox = 5 }}       # published posts per week, per channel account
qualified_leads_per_month = 20
max_rejected_share = 0.25         # at most this share of its leads dismissed by sales

[sla.sales]                       # what sales commits to, besides response_hours above
touch_qualified_share = 1.0       # first touch on every qualified lead
follow_up_attempts = 2            # replies before closing a lead as lost or not interested
insights_per_month = 4            # `task tag` insights fed back to marketing

# --- what counts as a lead (marketing and sales agree on this) ----------------------------------
[leads]
task_threshold = 5                # score that opens a follow-up task (a reply does, a lone like does not)
lead_threshold = 10
qualified_threshold = 25
half_life_days = 14               # engagement points halve every two weeks

[leads.weights]
message = 12
reply = 8
comment = 8
mention = 6
quote = 6
repost = 3
follow = 2
like = 1

[leads.intent]
keywords = ["pricing", "price", "cost", "quote", "demo", "trial", "how do i", "buy", "integrate", "contract", "seats"]
points = 12
question_points = 4

[leads.icp]                       # ideal customer profile
headline_keywords = ["vp", "head of", "director", "chief", "cto", "cfo", "founder", "owner"]
companies = []
regions = []
points = 8

[leads.ignore]                    # never a follow-up: competitors, bots, employees
handles = ["@competitor_co", "@botlike123"]
headline_keywords = ["automated"]

# --- brand guardrails ----------------------------------------------------------------------------
[guardrails]
banned_words = ["guarantee", "free money"]

# --- the loop ------------------------------------------------------------------------------------
[loop]
grace = "1h"                      # a post missed while the loop was down still goes out this late
max_attempts = 5
'''


def init_workspace(folder: Path, *, name: str | None = None, timezone: str = "UTC", force: bool = False) -> Path:
    """A new workspace in ``folder``: the annotated config, the shipped templates, a .gitignore."""
    from socialsell.credentials import private_dir, write_private  # see Workspace.resolve_secret  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load socialsell.credentials; kept off its path

    folder = folder.expanduser().resolve()
    check_timezone(timezone)  # before anything is written: a refused init leaves nothing behind
    config = folder / CONFIG_NAME
    if config.exists() and not force:
        raise UsageError(f"{config} already exists (use --force to overwrite it)")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: not a folder; give a folder for the workspace")
    if not folder.exists():  # a folder we create is the owner's alone; an existing one keeps its mode
        try:
            private_dir(folder)
        except OSError as e:
            raise UsageError(f"{folder}: cannot create the workspace folder ({e.strerror})") from None
    # json's string escapes are TOML's: a quote or backslash in the name cannot break the file
    write_private(config, DEFAULT_CONFIG.format(name=json.dumps(name or folder.name)[1:-1], timezone=timezone))
    templates = folder / "templates"
    templates.mkdir(exist_ok=True)
    shipped = Path(str(files("socialsell.shipped_templates")))
    for src in sorted(shipped.glob("*.j2")):
        dest = templates / src.name
        if not dest.exists():
            shutil.copyfile(src, dest)
    gitignore = folder / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("socialsell.db*\n.socialsell/\n")
    return config


def check_timezone(name: str) -> None:
    """Refuse a name that is no IANA time zone (``--timezone Mars/Olympus``)."""

    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, or ValueError for a path-like name
        raise UsageError(f"--timezone {name[:60]!r}: not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)") from None


def local_timezone() -> str:
    """The machine's IANA zone name, or UTC when it cannot be told."""
    # imported here, not above: only `init` needs it, and it would add a few ms (it imports
    # logging and calendar) to every read command
    import tzlocal  # noqa: PLC0415 - tzlocal, only `init` needs it

    try:
        with warnings.catch_warnings():  # tzlocal warns about a TZ it cannot use, then guesses
            warnings.simplefilter("ignore")
            tzlocal.reload_localzone()  # read it now: TZ may have changed since tzlocal cached it
            name = tzlocal.get_localzone_name()
        ZoneInfo(name)
    except Exception:  # a broken TZ or /etc/localtime: tzlocal raises several kinds
        return "UTC"
    return name or "UTC"
