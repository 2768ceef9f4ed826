"""The workspace settings (``socialsell.toml``) as one typed object, checked whole at load.

:func:`parse_settings` turns the parsed TOML into :class:`Settings`: every section and key the
core knows has a type, a default and a range, and anything else is refused at load with one
:class:`~socialsell.errors.ConfigError` naming the file, the key, what was expected and, for a
typo, the key that was probably meant. Jobs and commands read typed values from the object and
never the raw file, so a config that loads never makes a job fail later.

An account's own keys (``client_id``, ``author``, ``seed``...) and a plugin's own section
(``[hubspot]``) are the plugin's: kept as given at load (secrets only as references, a section
only under an installed plugin's name), then checked against what the plugin declares
(:class:`Setting`, "what plugins declare" below) when plugins load. Every key is documented in
docs/configuration.md (a test checks it; the plugins' keys by tests/test_declared_settings.py).

Plain classes declared like dataclasses (:func:`socialsell.records.record`) and a small
checker, not a validation library: loading runs on every command, including the read-only ones
(``tasks``, ``post list``), whose budget for it is about 10 ms. Real dataclasses compile their
generated methods at import, ~0.5 ms a class on Python 3.11: 10 ms for the classes here, which
records bring to ~1 ms (``-X importtime``, bytecode cached; bench/bench_read.py). Checking the
default config costs about 0.2 ms more than the unchecked read did (bench/bench_config.py
measures it against the click + SQLAlchemy floor). pydantic 2, the usual choice, took about
100 ms on the same machine to import and define one model: ten times the whole budget.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from socialsell.errors import MISSING, ConfigError
from socialsell.records import field, record
from socialsell.timeparse import (
    BusinessHours,
    duration_seconds,
    parse_business_hours,
    parse_hhmm,
    parse_slot_rule,
)

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
    "signal": 2.0,  # a post listening found: the person spoke about the topic, not to us
}
INTENT_KEYWORDS = [
    "pricing", "price", "cost", "quote", "demo", "trial", "how do i", "how does", "buy",
    "purchase", "contract", "budget", "integrate", "integration", "talk to sales",
]  # fmt: skip
SECRET_KEYS = ("token", "secret", "password", "key", "refresh")
SECRET_REFERENCE = 'a secret reference: {env = "NAME"}, {keyring = "service/user"} or {file = "path"}'

DAY = 86400
YEAR = 365 * DAY
MAX_POINTS = 1_000_000  # points, weights and thresholds: anything larger is a typo
MAX_SLA_HOURS = 2000  # about a year of working hours


# --- the settings ----------------------------------------------------------------------------


@record
class WorkspaceSettings:
    """``[workspace]``."""

    name: str | None = None  # default: the folder's name
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    database: str | None = None  # default: socialsell.db in the workspace folder
    require_approval: bool = False


@record
class AccountSettings:
    """One ``[[accounts]]`` entry: the core's keys typed, the rest kept for the plugin."""

    name: str
    channel: str
    poll_interval: int | None = None  # seconds; None: the channel's default
    engagement_window_days: int = 7
    slots: list[str] = field(default_factory=list)
    handle: str | None = None
    owner: str | None = None  # the rep whose own account it is (advocacy); None: the brand's
    raw: dict[str, Any] = field(default_factory=dict)  # every key as written, for the plugin


@record
class Rep:
    """One ``[[team.reps]]`` entry."""

    name: str
    email: str | None = None
    territories: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    role: str | None = None
    timezone: str | None = None  # an IANA zone; None: the workspace's


@record
class TeamSettings:
    """``[team]``."""

    lead: str | None = None
    reps: list[Rep] = field(default_factory=list)
    marketers: list[str] = field(default_factory=list)
    approvers: list[str] = field(default_factory=list)  # who may approve posts; empty: the lead


@record
class RoutingRule:
    """One ``[[routing]]`` rule: every condition given must match."""

    owner: str
    channel: str | None = None
    keyword: str | None = None
    territory: str | None = None


@record
class SlaSettings:
    """``[sla]``."""

    business_hours_text: str = "mon-fri 09:00-17:00"
    business_hours: BusinessHours = field(default_factory=lambda: parse_business_hours("mon-fri 09:00-17:00"))
    response_hours: float = 4.0
    high_intent_hours: float = 1.0
    escalate_after_hours: float = 8.0
    holidays: frozenset[date] = frozenset()
    #: [sla.marketing]: posts per week per account, qualified leads per month, max share rejected
    cadence: dict[str, float] = field(default_factory=dict)
    qualified_leads_per_month: float | None = None
    max_rejected_share: float | None = None
    #: [sla.sales]: share of qualified leads touched, follow-up attempts, insights per month
    touch_qualified_share: float = 1.0
    follow_up_attempts: int | None = None
    insights_per_month: float | None = None


@record
class LeadSettings:
    """``[leads]``: the shared lead definition (keywords and handles lower-cased)."""

    weights: dict[str, float] = field(default_factory=lambda: dict(ENGAGEMENT_WEIGHTS))
    intent_keywords: list[str] = field(default_factory=lambda: list(INTENT_KEYWORDS))
    intent_points: float = 12.0
    question_points: float = 4.0
    icp_keywords: list[str] = field(default_factory=list)
    icp_companies: list[str] = field(default_factory=list)
    icp_regions: list[str] = field(default_factory=list)
    icp_points: float = 8.0
    min_followers: int | None = None
    verified_points: float = 0.0  # for a verified account (0: the badge does not count)
    follower_points: float = 2.0
    half_life_days: float = 14.0  # 0: no decay
    task_threshold: float = 5.0
    lead_threshold: float = 10.0
    qualified_threshold: float = 25.0
    ignore_handles: list[str] = field(default_factory=list)
    ignore_keywords: list[str] = field(default_factory=list)
    own_handles: list[str] = field(default_factory=list)


@record
class UtmSettings:
    """``[guardrails.utm]``."""

    enabled: bool = True
    medium: str = "social"
    source: dict[str, str] = field(default_factory=dict)  # channel type -> utm_source


@record
class GuardrailSettings:
    """``[guardrails]``."""

    banned_words: list[str] = field(default_factory=list)
    required_hashtags: list[str] = field(default_factory=list)
    disclaimer: str = ""
    utm: UtmSettings = field(default_factory=UtmSettings)


@record
class EmailSettings:
    """``[notify.email]``: the SMTP server the digests go through."""

    host: str
    sender: str  # ``from`` in the file
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: dict[str, str] | None = None  # a secret reference, resolved when sending
    send_at: time = time(8, 0)
    timeout: float = 30.0


@record
class NotifySettings:
    """``[notify]``."""

    email: EmailSettings | None = None


@record
class MarketingSettings:
    """``[marketing]``."""

    evergreen_gap: int = 30 * DAY  # seconds
    evergreen_autofill: bool = False
    evergreen_days: int = 7


@record
class LoopSettings:
    """``[loop]``: how the publisher retries, leases and catches up (durations in seconds)."""

    grace: int = 3600  # seconds late a post may still go out after downtime
    max_attempts: int = 5
    backoff_base: int = 30
    backoff_cap: int = 3600
    lease: int = 180  # longer than the channel's total HTTP timeout
    reconcile_after: int = 30  # seconds after an ambiguous attempt before looking for it
    batch: int = 20

    def lease_for(self, channel: Any) -> float:
        """The lease to hold while calling ``channel``: longer than its total timeout, so a
        slow call is never mistaken for a dead one and reconciled while still in flight."""
        return max(float(self.lease), 2 * float(channel.total_timeout) + 10)


@record
class ListenQuery:
    """``[listen.query]``: what a stream looks for (docs/listening.md). Terms as written, without
    their ``#`` or ``@``; ``languages`` lower case."""

    keywords: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    competitors: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)


@record
class ListenStream:
    """One ``[[listen]]`` stream: a query run on some accounts at an interval, within a budget."""

    name: str
    accounts: list[str]
    query: ListenQuery
    interval: int = 900  # seconds between searches
    weight: float = 0.0  # points added to every match's score
    monthly_reads: int = 10_000  # the most posts read per calendar month (UTC), all accounts together


@record
class Settings:
    """Everything ``socialsell.toml`` says, typed and checked."""

    workspace: WorkspaceSettings = field(default_factory=WorkspaceSettings)
    accounts: list[AccountSettings] = field(default_factory=list)
    team: TeamSettings = field(default_factory=TeamSettings)
    routing: list[RoutingRule] = field(default_factory=list)
    sla: SlaSettings = field(default_factory=SlaSettings)
    leads: LeadSettings = field(default_factory=LeadSettings)
    guardrails: GuardrailSettings = field(default_factory=GuardrailSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    marketing: MarketingSettings = field(default_factory=MarketingSettings)
    loop: LoopSettings = field(default_factory=LoopSettings)
    listen: list[ListenStream] = field(default_factory=list)

    def stream(self, name: str) -> ListenStream | None:
        return next((s for s in self.listen if s.name == name), None)
    #: the sections the core does not know, as written: each belongs to the plugin that declares
    #: it (``register_settings``) and is checked against that declaration when plugins load
    plugin_sections: dict[str, dict[str, Any]] = field(default_factory=dict)


# Every key the core reads, by table, as written in the file (docs/configuration.md documents
# each one; a test checks it). ``*`` tables take any key (a kind, a channel type).
KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "": ("workspace", "accounts", "team", "routing", "sla", "leads", "guardrails", "notify", "marketing", "loop",
         "listen"),
    "workspace": ("name", "timezone", "database", "require_approval"),
    "accounts": ("name", "channel", "poll_interval", "engagement_window_days", "slots", "handle", "owner"),
    "team": ("lead", "reps", "marketers", "approvers"),
    "team.reps": ("name", "email", "territories", "channels", "keywords", "role", "timezone"),
    "routing": ("owner", "channel", "keyword", "territory"),
    "sla": ("business_hours", "response_hours", "high_intent_hours", "escalate_after_hours", "holidays",
            "marketing", "sales"),
    "sla.marketing": ("cadence", "qualified_leads_per_month", "max_rejected_share"),
    "sla.marketing.cadence": ("*",),
    "sla.sales": ("touch_qualified_share", "follow_up_attempts", "insights_per_month"),
    "leads": ("weights", "intent", "icp", "ignore", "half_life_days", "task_threshold", "lead_threshold",
              "qualified_threshold"),
    "leads.weights": ("*",),
    "leads.intent": ("keywords", "points", "question_points"),
    "leads.icp": ("headline_keywords", "companies", "regions", "points", "min_followers", "verified_points"),
    "leads.ignore": ("handles", "headline_keywords", "own_handles"),
    "guardrails": ("banned_words", "required_hashtags", "disclaimer", "utm"),
    "guardrails.utm": ("enabled", "medium", "source"),
    "guardrails.utm.source": ("*",),
    "notify": ("email",),
    "notify.email": ("host", "port", "from", "starttls", "username", "password", "send_at", "timeout"),
    "marketing": ("evergreen_gap", "evergreen_autofill", "evergreen_days"),
    "listen": ("name", "accounts", "query", "interval", "weight", "monthly_reads"),
    "listen.query": ("keywords", "phrases", "hashtags", "competitors", "exclude", "languages"),
    "loop": ("grace", "max_attempts", "backoff_base", "backoff_cap", "lease", "reconcile_after", "batch"),
}


# --- value parsers (durations and times of day: socialsell/timeparse.py) ---------------------


def is_secret_key(key: str) -> bool:
    """Whether an account key holds a secret by its name (``client_secret``, ``token``...)."""
    return any(s in key.lower() for s in SECRET_KEYS)


# --- the checker -----------------------------------------------------------------------------

class _Table:
    """One table of the file: typed reads that raise one ConfigError naming the key.

    ``label`` is how the table is written in the file (``[loop]``, ``[[accounts]] acme-x``);
    ``known`` the table's keys in :data:`KNOWN_KEYS`.
    """

    def __init__(self, path: Path, label: str, data: Any, known: str, *, strict: bool = True):
        self.path, self.label, self.known = path, label, known
        if not isinstance(data, dict):
            raise _error(path, label, "a table", data)
        self.data: dict[str, Any] = data
        if strict:
            self.refuse_unknown()

    def refuse_unknown(self, *, plugins_may_declare: bool = False) -> None:
        """Refuse a key the table does not know. With ``plugins_may_declare`` (the top level), a
        table the core does not know is left for the plugins (:func:`check_plugin_section_names`)."""
        allowed = KNOWN_KEYS[self.known]
        if "*" in allowed:
            return
        for key in self.data:
            if key not in allowed and not (plugins_may_declare and isinstance(self.data[key], dict)):
                raise unknown_key(self.path, self.label, key, allowed)

    def where(self, key: str) -> str:
        return f"{self.label} {key}" if self.label else key

    def fail(self, key: str, expected: str, value: Any = MISSING) -> ConfigError:
        return _error(self.path, self.where(key), expected, value)

    def get(self, key: str, check: Callable[[Any], Any], expected: str, default: Any = None) -> Any:
        """The checked value of ``key``, ``default`` when absent. ``check`` returns the value
        or raises ValueError/TypeError."""
        if key not in self.data:
            return default
        value = self.data[key]
        try:
            return check(value)
        except (ValueError, TypeError, OverflowError):
            raise self.fail(key, expected, value) from None

    def string(self, key: str, default: str | None = None, *, nonempty: bool = True) -> Any:
        return self.get(key, lambda v: _string(v, nonempty), "a non-empty string" if nonempty else "a string", default)

    def boolean(self, key: str, default: bool) -> bool:
        return self.get(key, _boolean, "true or false", default)

    def number(self, key: str, default: float | None, low: float, high: float, what: str = "a number") -> Any:
        return self.get(key, lambda v: _number(v, low, high), f"{what} from {_n(low)} to {_n(high)}", default)

    def integer(self, key: str, default: int | None, low: int, high: int, what: str = "a whole number") -> Any:
        return self.get(key, lambda v: _integer(v, low, high), f"{what} from {low} to {high}", default)

    def duration(self, key: str, default: int | None, high: int = YEAR) -> Any:
        def check(v: Any) -> int:
            seconds = duration_seconds(v)
            if seconds > high:
                raise ValueError(v)
            return seconds

        return self.get(key, check, f"a duration like 300, \"5m\", \"2h\" or \"1d\" (at most {_seconds(high)})", default)

    def strings(self, key: str, default: Iterable[str] = ()) -> list[str]:
        return list(self.get(key, _strings, 'a list of strings like ["a", "b"]', list(default)))

    def table(self, key: str, known: str, *, strict: bool = True) -> _Table:
        label = f"[{known}]"
        return _Table(self.path, label, self.data.get(key, {}), known, strict=strict)


def _name(text: str) -> str:
    """A key or name as written, quoted when it holds anything beyond letters, digits, - _ . @
    (a newline in a quoted TOML key must not break the one-line error)."""
    return text if re.fullmatch(r"[\w.@-]+", text, re.ASCII) else repr(text)


def unknown_key(path: Path, label: str, key: str, allowed: Iterable[str]) -> ConfigError:
    """``[loop] max_atempts: unknown key (did you mean max_attempts?); expected one of: ...``;
    a section (``label`` empty) when at the top level."""
    allowed = list(allowed)
    hint = did_you_mean(str(key), allowed)
    where, what = (f"{label} {_name(key)}", "key") if label else (f"[{_name(key)}]", "section")
    return ConfigError(path, where, f"unknown {what}{hint}; expected one of: {', '.join(allowed)}")


def did_you_mean(word: str, choices: list[str]) -> str:
    """`` (did you mean max_attempts?)`` for the choice closest to a misspelled ``word``, or ""."""
    import difflib  # noqa: PLC0415 - ~0.6 ms at import (-X importtime) that only a broken config needs, not every read command

    near = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {near[0]}?)" if near else ""


def _error(path: Path, where: str, expected: str, got: Any = MISSING) -> ConfigError:
    """``where: expected ..., got ...``; without ``got`` when absent or not to be shown (a secret)."""
    if got is MISSING:
        return ConfigError(path, where, f"expected {expected}")
    return ConfigError(path, where, expected, got)


def _string(v: Any, nonempty: bool = True) -> str:
    if not isinstance(v, str) or (nonempty and not v.strip()):
        raise TypeError(v)
    return v


def _boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError(v)
    return v


def _number(v: Any, low: float, high: float) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or not low <= v <= high:
        raise ValueError(v)
    return float(v)


def _integer(v: Any, low: int, high: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise ValueError(v)
    return v


def _strings(v: Any) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise TypeError(v)
    return list(v)


def _zone(v: Any) -> ZoneInfo:
    if not isinstance(v, str) or not v or "\0" in v:
        raise TypeError(v)
    try:
        return ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(v) from None


def _n(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


def _seconds(s: int) -> str:
    return f"{s // DAY}d" if s % DAY == 0 else f"{s}s"


# --- the sections ----------------------------------------------------------------------------


def parse_settings(path: Path, data: dict[str, Any]) -> Settings:
    """The typed settings from a parsed ``socialsell.toml``; one ConfigError on any problem."""
    top = _Table(path, "", data, "", strict=False)
    top.refuse_unknown(plugins_may_declare=True)
    accounts = _accounts(path, data.get("accounts", []))
    sla = _sla(top.table("sla", "sla"))
    team = _team(top.table("team", "team"))
    _check_owners(path, accounts, team)
    return Settings(
        workspace=_workspace(top.table("workspace", "workspace")),
        accounts=accounts,
        team=team,
        routing=_routing(path, data.get("routing", [])),
        sla=sla,
        leads=_leads(top.table("leads", "leads")),
        guardrails=_guardrails(top.table("guardrails", "guardrails")),
        notify=_notify(top.table("notify", "notify")),
        marketing=_marketing(top.table("marketing", "marketing")),
        loop=_loop(top.table("loop", "loop")),
        listen=_listen(path, data.get("listen", []), [a.name for a in accounts]),
        plugin_sections=_plugin_sections(path, data),
    )


def _workspace(t: _Table) -> WorkspaceSettings:
    database = t.get("database", _database_url,
                     "a database URL like sqlite:///socialsell.db or postgresql+psycopg://host/db")
    return WorkspaceSettings(
        name=t.string("name"),
        timezone=t.get("timezone", _zone, 'an IANA time zone like "Europe/Berlin"', ZoneInfo("UTC")),
        database=database,
        require_approval=t.boolean("require_approval", False),
    )


def _database_url(v: Any) -> str:
    if not isinstance(v, str) or "://" not in v or "\0" in v:
        raise TypeError(v)
    return v


def _list_of_tables(path: Path, label: str, value: Any, expected: str) -> list[Any]:
    if not isinstance(value, list):
        raise _error(path, label, expected, value)
    return value


def _named_tables(path: Path, section: str, value: Any, keys: str, *, array: str | None = None,
                  longest: int | None = None) -> Iterator[tuple[dict[str, Any], str]]:
    """Each table of an array of tables (``[[accounts]]``, ``[[listen]]``) with its checked name:
    letters, digits, '-', '_' or '.', at most ``longest`` characters."""
    tail = "*" if longest is None else f"{{0,{longest - 1}}}"
    for i, raw in enumerate(_list_of_tables(path, section, value, f"an array of tables: [[{section}]] with {array or keys}")):
        label = f"[[{section}]] #{i + 1}"
        if not isinstance(raw, dict):
            raise _error(path, label, f"a table with {keys}", raw)
        name = raw.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]" + tail, name):
            raise _error(path, f"{label} name", "a name of letters, digits, '-', '_' or '.'",
                         name if "name" in raw else MISSING)
        yield raw, name


def _accounts(path: Path, value: Any) -> list[AccountSettings]:
    out: list[AccountSettings] = []
    for raw, name in _named_tables(path, "accounts", value, "name and channel"):
        t = _Table(path, f"[[accounts]] {name}", raw, "accounts", strict=False)
        if any(a.name == name for a in out):
            raise _error(path, t.label, "a unique name (it is used twice)")
        channel = t.get("channel", lambda v: _string(v) and v.strip(), 'the channel type, e.g. "x", "linkedin" or "sandbox"')
        if channel is None:
            raise t.fail("channel", 'the channel type, e.g. "x", "linkedin" or "sandbox"')
        _refuse_raw_secrets(t)  # the plugin's own keys: checked when plugins load, secrets already now
        slots = t.get("slots", _slots, 'a list of slot rules like ["mon-fri 09:00, 12:30"]', [])
        out.append(AccountSettings(
            name=name, channel=channel,
            poll_interval=t.duration("poll_interval", None),
            engagement_window_days=t.integer("engagement_window_days", 7, 1, 365, "a whole number of days"),
            slots=slots,
            handle=t.string("handle"),
            owner=t.string("owner"),
            raw=dict(raw),
        ))
    return out


def _check_owners(path: Path, accounts: list[AccountSettings], team: TeamSettings) -> None:
    """An account's ``owner`` names a rep of ``[[team.reps]]`` (as written there): only that
    rep may share from it (docs/advocacy.md)."""
    reps = {r.name.lower(): r.name for r in team.reps}
    for a in accounts:
        if a.owner is None:
            continue
        found = reps.get(a.owner.strip().lower())
        if found is None:
            hint = did_you_mean(a.owner, list(reps.values()))
            names = ", ".join(sorted(reps.values())) or "none"
            raise _error(path, f"[[accounts]] {a.name} owner",
                         f"a rep of [[team.reps]]{hint}: one of {names}", a.owner)
        a.owner = found


def _refuse_raw_secrets(t: _Table) -> None:
    """A plugin's key named like a secret, or holding a table, must be a secret reference: the
    core's rule for every plugin key, checked at load before plugins (and their declarations) load."""
    for key, v in t.data.items():
        if isinstance(v, dict) or is_secret_key(key):
            if isinstance(v, str) and v:
                raise t.fail(key, 'a reference, not the secret itself: {env = "NAME"} or {keyring = "service/user"}')
            if isinstance(v, dict) and not _is_reference(v):
                raise t.fail(key, SECRET_REFERENCE)  # the value is not shown: it may hold the secret


def _is_reference(v: dict[str, Any]) -> bool:
    return len(v) == 1 and next(iter(v)) in ("env", "keyring", "file") and isinstance(next(iter(v.values())), str) \
        and bool(next(iter(v.values())))


def _slots(v: Any) -> list[str]:
    rules = [v] if isinstance(v, str) else _strings(v)
    for rule in rules:
        parse_slot_rule(rule)  # ValueError for a rule that cannot be read
    return rules


def _team(t: _Table) -> TeamSettings:
    reps: list[Rep] = []
    for i, raw in enumerate(_list_of_tables(t.path, "[team] reps", t.data.get("reps", []),
                                            "an array of tables: [[team.reps]] with a name")):
        if isinstance(raw, str) and raw.strip():
            raw = {"name": raw}
        label = f"[[team.reps]] #{i + 1}"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
            raise _error(t.path, label, "a table with a name (and optional email, territories, channels, keywords)",
                              raw if not isinstance(raw, dict) else raw.get("name", MISSING))
        r = _Table(t.path, f"[[team.reps]] {_name(raw['name'])}", raw, "team.reps")
        if any(rep.name == raw["name"] for rep in reps):
            raise _error(t.path, r.label, "a unique name (it is used twice)")
        zone = r.get("timezone", lambda v: _zone(v) and v, 'an IANA time zone like "Europe/Berlin"')
        reps.append(Rep(
            name=raw["name"], email=r.string("email"), territories=r.strings("territories"),
            channels=r.strings("channels"), keywords=r.strings("keywords"), role=r.string("role"), timezone=zone,
        ))
    return TeamSettings(lead=t.string("lead"), reps=reps, marketers=t.strings("marketers"),
                        approvers=t.strings("approvers"))


def _routing(path: Path, value: Any) -> list[RoutingRule]:
    rules = []
    for i, raw in enumerate(_list_of_tables(path, "routing", value, "an array of tables: [[routing]] with an owner")):
        t = _Table(path, f"[[routing]] #{i + 1}", raw, "routing")
        owner = t.string("owner")
        if owner is None:
            raise t.fail("owner", "the rep who gets the matching follow-ups")
        rules.append(RoutingRule(owner=owner, channel=t.string("channel"), keyword=t.string("keyword"),
                                 territory=t.string("territory")))
    return rules


def _sla(t: _Table) -> SlaSettings:
    text = t.get("business_hours", _string, 'a string like "mon-fri 09:00-17:00"', "mon-fri 09:00-17:00")
    try:
        hours = parse_business_hours(text)
    except ValueError as e:
        raise t.fail("business_hours", str(e).removeprefix("business hours ")) from None
    s = SlaSettings(
        business_hours_text=text, business_hours=hours,
        response_hours=t.number("response_hours", 4.0, 0.01, MAX_SLA_HOURS, "a number of business hours"),
        high_intent_hours=t.number("high_intent_hours", 1.0, 0.01, MAX_SLA_HOURS, "a number of business hours"),
        escalate_after_hours=t.number("escalate_after_hours", 8.0, 0.01, 24 * 366, "a number of hours"),
        holidays=t.get("holidays", _holidays, 'a list of dates like ["2026-12-25"]', frozenset()),
    )
    marketing, sales = t.table("marketing", "sla.marketing"), t.table("sales", "sla.sales")
    cadence = marketing.table("cadence", "sla.marketing.cadence")
    s.cadence = {str(k): float(cadence.number(k, None, 0, 10_000, "posts per week")) for k in cadence.data}
    s.qualified_leads_per_month = marketing.number("qualified_leads_per_month", None, 0, 10**9, "a number of leads")
    s.max_rejected_share = marketing.number("max_rejected_share", None, 0, 1, "a share")
    s.touch_qualified_share = float(sales.number("touch_qualified_share", 1.0, 0, 1, "a share"))
    s.follow_up_attempts = sales.integer("follow_up_attempts", None, 0, 1000, "a whole number of attempts")
    s.insights_per_month = sales.number("insights_per_month", None, 0, 10**9, "a number of insights")
    # a due time must exist: the open hours per week must fit the longest response time
    # well inside the ten years add_business_time searches, holidays included
    weekly = sum((datetime.combine(date.min, e) - datetime.combine(date.min, b)).total_seconds()
                 for _, b, e in set(hours.windows)) / 3600
    longest = max(s.response_hours, s.high_intent_hours)
    if longest / weekly * 7 + len(s.holidays) > 3000:
        raise t.fail("response_hours", f"a time that fits the business hours ({weekly:g} open hours a week)",
                     longest)
    return s


def _words(v: Any) -> list[str]:
    words = _strings(v)
    if not all(w.strip() for w in words):  # an empty word would match every text
        raise ValueError(v)
    return words


def _holidays(v: Any) -> frozenset[date]:
    days = set()
    for d in _list(v):
        if isinstance(d, datetime) or not isinstance(d, date | str):
            raise TypeError(d)
        days.add(d if isinstance(d, date) else date.fromisoformat(d.strip()))
    return frozenset(days)


def _list(v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise TypeError(v)
    return v


def _leads(t: _Table) -> LeadSettings:
    r = LeadSettings()
    weights = t.table("weights", "leads.weights")
    for kind in weights.data:
        r.weights[kind] = weights.number(kind, None, -MAX_POINTS, MAX_POINTS, "points")
    intent = t.table("intent", "leads.intent")
    r.intent_keywords = [k.lower() for k in intent.strings("keywords", r.intent_keywords)]
    r.intent_points = intent.number("points", r.intent_points, -MAX_POINTS, MAX_POINTS, "points")
    r.question_points = intent.number("question_points", r.question_points, -MAX_POINTS, MAX_POINTS, "points")
    icp = t.table("icp", "leads.icp")
    r.icp_keywords = [k.lower() for k in icp.strings("headline_keywords")]
    r.icp_companies = [k.lower() for k in icp.strings("companies")]
    r.icp_regions = [k.lower() for k in icp.strings("regions")]
    r.icp_points = icp.number("points", r.icp_points, -MAX_POINTS, MAX_POINTS, "points")
    r.min_followers = icp.integer("min_followers", None, 0, 10**12, "a number of followers")
    r.verified_points = icp.number("verified_points", r.verified_points, -MAX_POINTS, MAX_POINTS, "points")
    r.half_life_days = t.number("half_life_days", r.half_life_days, 0, 3650, "a number of days (0: no decay)")
    for key in ("task_threshold", "lead_threshold", "qualified_threshold"):
        setattr(r, key, t.number(key, getattr(r, key), -MAX_POINTS, MAX_POINTS, "a score"))
    ignore = t.table("ignore", "leads.ignore")
    r.ignore_handles = [h.lower() for h in ignore.strings("handles")]
    r.ignore_keywords = [k.lower() for k in ignore.strings("headline_keywords")]
    r.own_handles = ignore.strings("own_handles")
    return r


def _guardrails(t: _Table) -> GuardrailSettings:
    raw_utm = t.data.get("utm", {})
    if isinstance(raw_utm, bool):  # ``utm = false`` turns tagging off
        utm = UtmSettings(enabled=raw_utm)
    else:
        u = t.table("utm", "guardrails.utm")
        source = u.table("source", "guardrails.utm.source")
        utm = UtmSettings(
            enabled=u.boolean("enabled", True), medium=u.string("medium", "social"),
            source={k: source.string(k) for k in source.data},
        )
    return GuardrailSettings(
        banned_words=t.get("banned_words", _words, 'a list of words like ["guarantee", "free money"]', []),
        required_hashtags=t.strings("required_hashtags"),
        disclaimer=t.string("disclaimer", "", nonempty=False),
        utm=utm,
    )


def _notify(t: _Table) -> NotifySettings:
    if not t.data.get("email"):
        if "email" in t.data and not isinstance(t.data["email"], dict):
            raise t.fail("email", "a table [notify.email] with at least host and from", t.data["email"])
        return NotifySettings()
    e = t.table("email", "notify.email")
    host, sender = e.string("host"), e.string("from")
    if host is None or sender is None:
        raise e.fail("host" if host is None else "from", "a non-empty string ([notify.email] needs host and from)")
    password = e.data.get("password")
    if isinstance(password, str) and password:
        raise e.fail("password", 'a reference, not the secret itself: {env = "SMTP_PASSWORD"}')
    if password is not None and not (isinstance(password, dict) and _is_reference(password)):
        raise e.fail("password", SECRET_REFERENCE)  # the value is not shown: it may hold the secret
    starttls = e.boolean("starttls", True)
    return NotifySettings(email=EmailSettings(
        host=host, sender=sender, starttls=starttls,
        port=e.integer("port", 587 if starttls else 25, 1, 65535, "a port number"),
        username=e.string("username"), password=password,
        send_at=e.get("send_at", lambda v: parse_hhmm(_string(v)), "a time of day like 08:00", time(8, 0)),
        timeout=e.number("timeout", 30.0, 0.1, 600, "a number of seconds"),
    ))


def _plugin_sections(path: Path, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The top-level tables the core does not know, as written (each is a plugin's); their
    secrets must be references already (the rest is checked when plugins load)."""
    sections = {key: value for key, value in data.items() if key not in KNOWN_KEYS[""] and isinstance(value, dict)}
    for key, value in sections.items():
        _refuse_raw_secrets(_Table(path, f"[{_name(key)}]", value, "", strict=False))
    return sections


def _http_url(v: Any) -> str:
    if not isinstance(v, str) or not re.fullmatch(r"https?://[^\s/]+(/\S*)?", v):
        raise ValueError(v)
    return v


#: X bills at most 3 million post reads a month on pay-per-use (docs/listening.md)
MAX_MONTHLY_READS = 3_000_000


def check_term(kind: str, value: Any) -> str:
    """One query term of ``kind`` (``keywords``, ``phrases``...), trimmed, without its ``#``/``@``;
    ValueError naming what a term of that kind must be. Shared with ``listen test``."""
    if not isinstance(value, str):
        raise ValueError(f"{kind}: a string, not {value!r}")
    v = value.strip()
    if kind in ("keywords", "exclude"):
        if not re.fullmatch(r"[^\s\"()#@:-][^\s\"():]*", v):
            raise ValueError(f"{kind}: one word without spaces, quotes, brackets or a leading #, @ or -, "
                             f"not {value!r} (several words go in phrases)")
    elif kind == "phrases":
        if not v or '"' in v or "\n" in v or len(v) > 200:
            raise ValueError(f"phrases: words without quotes, at most 200 characters, not {value!r}")
        v = " ".join(v.split())
    elif kind == "hashtags":
        v = v.removeprefix("#")
        if not re.fullmatch(r"\w{1,100}", v):
            raise ValueError(f"hashtags: a tag of letters, digits and _, like #socialselling, not {value!r}")
    elif kind == "competitors":
        v = v.removeprefix("@")
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}", v):
            raise ValueError(f"competitors: a handle like @rival_inc, not {value!r}")
    elif kind == "languages":
        v = v.lower()
        if not re.fullmatch(r"[a-z]{2}", v):
            raise ValueError(f"languages: a two-letter code like \"en\", not {value!r}")
    if len(v) > 200:
        raise ValueError(f"{kind}: at most 200 characters")
    return v


def _listen(path: Path, value: Any, accounts: list[str]) -> list[ListenStream]:
    streams: list[ListenStream] = []
    for raw, name in _named_tables(path, "listen", value, "name, accounts and query", array="a name", longest=100):
        t = _Table(path, f"[[listen]] {name}", raw, "listen")
        if any(s.name == name for s in streams):
            raise _error(path, t.label, "a unique name (it is used twice)")
        names = t.strings("accounts")
        if not names:
            raise t.fail("accounts", 'a list of the accounts to search on, like ["sandbox"]')
        for account in names:
            if account not in accounts:
                hint = did_you_mean(account, accounts)
                raise t.fail("accounts", f"names of [[accounts]] ({', '.join(accounts) or 'none configured'}): "
                                         f"{account!r} is not one{hint}")
        if "query" not in raw:
            raise t.fail("query", "a table [listen.query] with keywords, phrases, hashtags or competitors")
        streams.append(ListenStream(
            name=name, accounts=list(dict.fromkeys(names)), query=_listen_query(_Table(path, f"{t.label} query", raw["query"], "listen.query")),
            interval=t.duration("interval", 900, high=7 * DAY),
            weight=t.number("weight", 0.0, -MAX_POINTS, MAX_POINTS, "points"),
            monthly_reads=t.integer("monthly_reads", 10_000, 0, MAX_MONTHLY_READS, "a whole number of reads"),
        ))
        if streams[-1].interval < 60:
            raise t.fail("interval", "a duration of at least 60 seconds", raw["interval"])
    return streams


def _listen_query(t: _Table) -> ListenQuery:
    q = ListenQuery()
    for kind in KNOWN_KEYS["listen.query"]:
        terms = []
        for term in t.strings(kind):
            try:
                terms.append(check_term(kind, term))
            except ValueError as e:
                raise t.fail(kind, str(e).split(": ", 1)[1]) from None
        setattr(q, kind, list(dict.fromkeys(terms)))
    if not (q.keywords or q.phrases or q.hashtags or q.competitors):
        raise t.fail("keywords", "at least one keyword, phrase, hashtag or competitor to look for")
    return q


def _marketing(t: _Table) -> MarketingSettings:
    return MarketingSettings(
        evergreen_gap=t.duration("evergreen_gap", 30 * DAY, high=10 * YEAR),
        evergreen_autofill=t.boolean("evergreen_autofill", False),
        evergreen_days=t.integer("evergreen_days", 7, 1, 365, "a number of days"),
    )


def _loop(t: _Table) -> LoopSettings:
    return LoopSettings(
        grace=t.duration("grace", 3600),
        max_attempts=t.integer("max_attempts", 5, 1, 100),
        backoff_base=t.duration("backoff_base", 30, high=DAY),
        backoff_cap=t.duration("backoff_cap", 3600, high=7 * DAY),
        lease=t.duration("lease", 180, high=DAY),
        reconcile_after=t.duration("reconcile_after", 30, high=DAY),
        batch=t.integer("batch", 20, 1, 1000),
    )


def database_url(settings: Settings, root: Path, override: str | None = None) -> str:
    """The database URL: ``--db``, else ``SOCIALSELL_DB``, else ``[workspace] database``, else
    socialsell.db in the workspace; a relative SQLite path is relative to the workspace."""
    url = override or os.environ.get("SOCIALSELL_DB") or settings.workspace.database
    if url is None:
        return f"sqlite:///{root / DB_NAME}"
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        return f"sqlite:///{root / url[len('sqlite:///'):]}"
    return url


# --- what plugins declare ----------------------------------------------------------------------
#
# A plugin declares the keys of its own top-level section (the ``register_settings`` hook) and a
# channel the keys of its accounts (``Channel.settings``); both are checked here, by the same
# rules as the core's keys (docs/plugins.md, "Settings"). Plugins load only when a command needs
# them, so this check runs then (socialsell/app.py, ``App.pm``); before that, at load, a section
# named after no installed plugin is refused (:func:`check_plugin_section_names`).

#: the types a declared setting may have: ``list`` is a list of strings, ``"duration"`` seconds
#: written as 300 or "5m", ``"url"`` an http(s) URL
SETTING_TYPES: tuple[Any, ...] = (str, int, float, bool, list, "duration", "url")


@record(frozen=True)
class Setting:
    """One key a plugin declares for its section or for the accounts of its channel type.

    ``secret``: the value must be a reference (``{env = "NAME"}``...) and is kept as one until
    read with ``setting(key)``. ``low``/``high`` bound a number or a duration (seconds).
    ``default`` is used when the key is absent (None: absent means unset).
    """

    name: str
    type: Any = str
    required: bool = False
    secret: bool = False
    default: Any = None
    low: float | None = None
    high: float | None = None
    help: str = ""

    def __post_init__(self) -> None:
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        if not types or not all(any(t is k or t == k for k in SETTING_TYPES) for t in types):
            raise TypeError(f"setting {self.name!r}: type {self.type!r} is not one of str, int, float, bool, list, "
                            '"duration", "url" (or a tuple of them)')
        if self.secret and self.type is not str:
            raise TypeError(f"setting {self.name!r}: a secret is a string (a reference to one)")

    @property
    def types(self) -> tuple[Any, ...]:
        return self.type if isinstance(self.type, tuple) else (self.type,)

    def expected(self) -> str:
        """What a value must look like, for the error line."""
        if self.secret:
            return SECRET_REFERENCE
        return " or ".join(self._expected(t) for t in self.types)

    def _expected(self, kind: Any) -> str:
        low = _n(self.low) if self.low is not None else None
        high = _n(self.high) if self.high is not None else None
        bounds = f" from {low} to {high}" if low and high else f" of at least {low}" if low else \
            f" of at most {high}" if high else ""
        if kind == "duration":
            return f'a duration like 300, "5m", "2h" or "1d" (at most {_seconds(int(self.high or YEAR))})'
        return {
            str: "a non-empty string", int: f"a whole number{bounds}", float: f"a number{bounds}",
            bool: "true or false", list: 'a list of strings like ["a", "b"]',
            "url": "an http(s) URL like https://example.com",
        }[kind]


def check_declared(path: Path, label: str, data: dict[str, Any], declared: Iterable[Setting],
                   also_allowed: Iterable[str] = ()) -> dict[str, Any]:
    """``data`` checked against ``declared``: an unknown key (not declared, not in
    ``also_allowed``) refused with a did-you-mean, a missing required key, a wrong type or a
    secret written as a value refused with one ConfigError naming the file, ``label`` and the
    key. Returns the checked values, defaults filled in, secrets still references."""
    declared = list(declared)
    names = [s.name for s in declared]
    allowed = [*also_allowed, *names]
    t = _Table(path, label, data, "", strict=False)
    for key in t.data:
        if key not in allowed:
            raise unknown_key(path, label, key, allowed)
    values = {k: v for k, v in t.data.items() if k not in names}
    for s in declared:
        if s.name not in t.data:
            if s.required:
                raise t.fail(s.name, f"{s.expected()} (required)")
            if s.default is not None:
                values[s.name] = s.default
            continue
        values[s.name] = _declared_value(t, s)
    return values


def _declared_value(t: _Table, s: Setting) -> Any:
    value = t.data[s.name]
    if s.secret:
        if isinstance(value, str) and value:
            raise t.fail(s.name, 'a reference, not the secret itself: {env = "NAME"} or {keyring = "service/user"}')
        if not (isinstance(value, dict) and _is_reference(value)):
            raise t.fail(s.name, SECRET_REFERENCE)  # the value is not shown: it may hold the secret
        return dict(value)
    if isinstance(value, dict):  # any setting may come from the environment ({env = "X_CLIENT_ID"})
        if not _is_reference(value):
            raise t.fail(s.name, SECRET_REFERENCE)
        return dict(value)
    low = s.low if s.low is not None else -(2**63)
    high = s.high if s.high is not None else 2**63 - 1
    checks: dict[Any, Callable[[Any], Any]] = {
        str: _string, int: lambda v: _integer(v, int(low), int(high)), float: lambda v: _number(v, low, high),
        bool: _boolean, list: _strings, "url": _http_url, "duration": lambda v: _duration(v, int(s.high or YEAR)),
    }

    def check(v: Any) -> Any:
        for kind in s.types:
            try:
                return checks[kind](v)
            except (ValueError, TypeError, OverflowError):
                continue
        raise ValueError(v)

    return t.get(s.name, check, s.expected())


def _duration(v: Any, high: int) -> int:
    seconds = duration_seconds(v)
    if seconds > high:
        raise ValueError(v)
    return seconds


def check_plugin_section_names(path: Path, settings: Settings, installed: Iterable[str]) -> None:
    """Refuse, at load, a section that is neither the core's nor named after an installed plugin
    (``[sales]``, ``[hubspt]``), with a did-you-mean; its keys are checked when plugins load."""
    installed = sorted(set(installed))
    for name in settings.plugin_sections:
        if name not in installed:
            raise unknown_key(path, "", name, [*KNOWN_KEYS[""], *installed])
