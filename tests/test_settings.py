"""The settings object: a broken socialsell.toml is one line and exit 2 at load, on every
command, with nothing changed; a config that loads is typed, and no job fails on it later."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from contextlib import closing
from datetime import date, time
from pathlib import Path

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialsell.errors import ConfigError
from socialsell.settings import KNOWN_KEYS, parse_settings
from socialsell.workspace import build_workspace, local_timezone

ROOT = Path(__file__).resolve().parent.parent

# a minimal valid config; each row below adds to it
BASE = '''\
[workspace]
name = "T"
timezone = "Europe/Berlin"

[[accounts]]
name = "sandbox"
channel = "sandbox"
'''

BAD = [
    # --- unknown sections and keys, with a did-you-mean -----------------------------------
    ('[lop]\ngrace = "1h"\n', "[lop]: unknown section (did you mean loop?)"),
    ('[sales]\nx = 1\n', "[sales]: unknown section"),
    ('[loop]\n"max\\nattempts" = 5\n', "[loop] 'max\\nattempts': unknown key"),
    ('[[team.reps]]\nname = "a\\nb"\nemail = 5\n', "[[team.reps]] 'a\\nb' email: expected a non-empty string, got 5"),
    ('[loop]\nmax_atempts = 5\n', "[loop] max_atempts: unknown key (did you mean max_attempts?)"),
    ('[sla]\nbusiness_hour = "mon-fri 09:00-17:00"\n', "[sla] business_hour: unknown key (did you mean business_hours?)"),
    ('[leads]\ntask_treshold = 5\n', "[leads] task_treshold: unknown key (did you mean task_threshold?)"),
    ('[leads.intent]\nkeyword = ["demo"]\n', "[leads.intent] keyword: unknown key (did you mean keywords?)"),
    ('[leads.icp]\nheadline_keyword = ["cto"]\n', "[leads.icp] headline_keyword: unknown key (did you mean headline_keywords?)"),
    ('[guardrails]\nbanned_word = ["x"]\n', "[guardrails] banned_word: unknown key (did you mean banned_words?)"),
    ('[marketing]\nevergreen_gaps = "30d"\n', "[marketing] evergreen_gaps: unknown key (did you mean evergreen_gap?)"),
    ('[workspace.extra]\nx = 1\n', "[workspace] extra: unknown key"),
    ('[team]\nleads = "morgan"\n', "[team] leads: unknown key (did you mean lead?)"),
    ('[[team.reps]]\nname = "a"\nemial = "a@x"\n', "[[team.reps]] a emial: unknown key (did you mean email?)"),
    ('[[routing]]\nowner = "a"\nkeywords = "x"\n', "[[routing]] #1 keywords: unknown key (did you mean keyword?)"),
    ('[notify.email]\nhost = "h"\nfrom = "f@x"\nsend_time = "08:00"\n', "[notify.email] send_time: unknown key"),
    # --- wrong types ------------------------------------------------------------------------
    ('[guardrails]\nbanned_words = "guarantee"\n', "[guardrails] banned_words: expected a list of words like [\"guarantee\", \"free money\"], got 'guarantee'"),
    ('[guardrails]\nbanned_words = ["ok", " "]\n', "[guardrails] banned_words: expected a list of words"),
    ('[sla]\nescalate_after_hours = 0\n', "[sla] escalate_after_hours: expected a number of hours from 0.01 to 8784, got 0"),
    ('[guardrails]\nrequired_hashtags = [1, 2]\n', "[guardrails] required_hashtags: expected a list of strings"),
    ('[guardrails]\ndisclaimer = 5\n', "[guardrails] disclaimer: expected a string"),
    ('[guardrails.utm]\nenabled = "yes"\n', "[guardrails.utm] enabled: expected true or false, got 'yes'"),
    ('[guardrails.utm]\nsource = "twitter"\n', "[guardrails.utm.source]: expected a table, got 'twitter'"),
    ('[sla]\nholidays = ["christmas"]\n', "[sla] holidays: expected a list of dates"),
    ('[sla]\nholidays = "2026-12-25"\n', "[sla] holidays: expected a list of dates"),
    ('[sla]\nbusiness_hours = "weekdays 9-5"\n', "[sla] business_hours:"),
    ('[sla]\nbusiness_hours = "mon-fri 17:00-09:00"\n', "[sla] business_hours: expected must end after they start"),
    ('[sla]\nresponse_hours = "4"\n', "[sla] response_hours: expected a number of business hours"),
    ('[sla]\nresponse_hours = 0\n', "[sla] response_hours: expected a number of business hours from 0.01 to 2000, got 0"),
    ('[sla]\nbusiness_hours = "mon 09:00-09:01"\nresponse_hours = 1000\n', "[sla] response_hours: expected a time that fits"),
    ('[sla]\nescalate_after_hours = -1\n', "[sla] escalate_after_hours: expected a number of hours"),
    ('[loop]\ngrace = "soon"\n', "[loop] grace: expected a duration like 300, \"5m\", \"2h\" or \"1d\" (at most 365d), got 'soon'"),
    ('[loop]\ngrace = true\n', "[loop] grace: expected a duration"),
    ('[loop]\ngrace = "99999999999w"\n', "[loop] grace: expected a duration"),
    ('[loop]\nlease = "0.1s"\n', "[loop] lease: expected a duration"),
    ('[loop]\nbackoff_base = inf\n', "[loop] backoff_base: expected a duration"),
    ('[loop]\nmax_attempts = "5"\n', "[loop] max_attempts: expected a whole number from 1 to 100, got '5'"),
    ('[loop]\nmax_attempts = 0\n', "[loop] max_attempts: expected a whole number from 1 to 100, got 0"),
    ('[loop]\nbatch = 2.5\n', "[loop] batch: expected a whole number from 1 to 1000, got 2.5"),
    ('[loop]\nbatch = 9223372036854775807\n', "[loop] batch: expected a whole number from 1 to 1000"),
    ('[leads.weights]\nlike = "one"\n', "[leads.weights] like: expected points from -1000000 to 1000000, got 'one'"),
    ('[leads.weights]\nreply = nan\n', "[leads.weights] reply: expected points"),
    ('[leads.weights]\nreply = true\n', "[leads.weights] reply: expected points"),
    ('[leads]\nweights = [1, 2]\n', "[leads.weights]: expected a table, got [1, 2]"),
    ('[leads]\nhalf_life_days = -1\n', "[leads] half_life_days: expected a number of days"),
    ('[leads]\ntask_threshold = inf\n', "[leads] task_threshold: expected a score"),
    ('[leads.intent]\nkeywords = "demo"\n', "[leads.intent] keywords: expected a list of strings"),
    ('[leads.icp]\nmin_followers = -5\n', "[leads.icp] min_followers: expected a number of followers"),
    ('[leads.ignore]\nhandles = "@bot"\n', "[leads.ignore] handles: expected a list of strings"),
    ('[marketing]\nevergreen_gap = "forever"\n', "[marketing] evergreen_gap: expected a duration"),
    ('[marketing]\nevergreen_autofill = 1\n', "[marketing] evergreen_autofill: expected true or false, got 1"),
    ('[marketing]\nevergreen_days = 99999999999\n', "[marketing] evergreen_days: expected a number of days from 1 to 365"),
    ('[notify.email]\nhost = "h"\n', "[notify.email] from: expected a non-empty string"),
    ('[notify.email]\nhost = "h"\nfrom = "f@x"\nsend_at = "8am"\n', "[notify.email] send_at: expected a time of day like 08:00, got '8am'"),
    ('[notify.email]\nhost = "h"\nfrom = "f@x"\nport = 99999\n', "[notify.email] port: expected a port number from 1 to 65535"),
    ('[notify.email]\nhost = "h"\nfrom = "f@x"\nstarttls = "no"\n', "[notify.email] starttls: expected true or false"),
    ('[notify.email]\nhost = "h"\nfrom = "f@x"\npassword = {vault = "x"}\n', "[notify.email] password: expected a secret reference"),
    ('[notify]\nemail = "ops@example.com"\n', "[notify.email]: expected a table, got 'ops@example.com'"),
    ('[notify]\nemail = []\n', "[notify] email: expected a table [notify.email] with at least host and from, got []"),
    ('[team]\nreps = "alice"\n', "[team] reps: expected an array of tables"),
    ('[[team.reps]]\nemail = "a@x"\n', "[[team.reps]] #1: expected a table with a name"),
    ('[[team.reps]]\nname = "a"\nterritories = "Germany"\n', "[[team.reps]] a territories: expected a list of strings"),
    ('[[team.reps]]\nname = "a"\ntimezone = "Mars/Base"\n', "[[team.reps]] a timezone: expected an IANA time zone"),
    ('[[team.reps]]\nname = "a"\n[[team.reps]]\nname = "a"\n', "[[team.reps]] a: expected a unique name"),
    ('[[routing]]\nkeyword = "enterprise"\n', "[[routing]] #1 owner: expected the rep who gets"),
    ('routing = {owner = "a"}\n', "routing: expected an array of tables"),
    # --- [workspace] and [[accounts]] -------------------------------------------------------
    ('', "[workspace] timezone: expected an IANA time zone", 'timezone = "Mars/Olympus"'),
    ('', "[workspace] require_approval: expected true or false, got 'yes'", 'require_approval = "yes"'),
    ('', "[workspace] database: expected a database URL", 'database = "socialsell.db"'),
    ('[[accounts]]\nname = "b"\nchannel = "sandbox"\npoll_interval = "often"\n', "[[accounts]] b poll_interval: expected a duration"),
    ('[[accounts]]\nname = "b"\nchannel = "sandbox"\nslots = ["someday"]\n', "[[accounts]] b slots: expected a list of slot rules"),
    ('[[accounts]]\nname = "b"\nchannel = "sandbox"\nslots = ["mon 25:00"]\n', "[[accounts]] b slots: expected a list of slot rules"),
    ('[[accounts]]\nname = "b"\nchannel = "sandbox"\nengagement_window_days = 0\n', "[[accounts]] b engagement_window_days: expected a whole number of days from 1 to 365"),
    ('[[accounts]]\nname = "b"\nchannel = 5\n', "[[accounts]] b channel: expected the channel type"),
    ('[[accounts]]\nname = "b"\n', "[[accounts]] b channel: expected the channel type"),
    ('[[accounts]]\nname = "b c"\nchannel = "x"\n', "[[accounts]] #2 name: expected a name of letters"),
    ('[[accounts]]\nname = "sandbox"\nchannel = "x"\n', "[[accounts]] sandbox: expected a unique name"),
    ('[[accounts]]\nname = "b"\nchannel = "x"\nclient_secret = "hunter2"\n', "[[accounts]] b client_secret: expected a reference, not the secret itself"),
    ('[[accounts]]\nname = "b"\nchannel = "x"\nclient_secret = {vault = "hunter2"}\n', "[[accounts]] b client_secret: expected a secret reference"),
    ('accounts = "sandbox"\n', "accounts: expected an array of tables"),
    # --- [[listen]] (docs/listening.md) -----------------------------------------------------
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbx"]\nquery = {keywords = ["crm"]}\n',
     "[[listen]] buyers accounts: expected names of [[accounts]] (sandbox): 'sandbx' is not one (did you mean sandbox?)"),
    ('[[listen]]\nname = "buyers"\naccounts = []\nquery = {keywords = ["crm"]}\n', "[[listen]] buyers accounts: expected a list"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\n', "[[listen]] buyers query: expected a table [listen.query]"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\nquery = {exclude = ["jobs"]}\n',
     "[[listen]] buyers query keywords: expected at least one keyword, phrase, hashtag or competitor"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\nquery = {keyword = ["crm"]}\n',
     "[[listen]] buyers query keyword: unknown key (did you mean keywords?)"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\nquery = {keywords = ["two words"]}\n',
     "[[listen]] buyers query keywords: expected one word without spaces"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\nquery = {phrases = [\'say "hi"\']}\n',
     "[[listen]] buyers query phrases: expected words without quotes"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\nquery = {hashtags = ["#a-b"]}\n',
     "[[listen]] buyers query hashtags: expected a tag of letters"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\nquery = {competitors = ["@ rival"]}\n',
     "[[listen]] buyers query competitors: expected a handle like @rival_inc"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\nquery = {keywords = ["crm"], languages = ["english"]}\n',
     "[[listen]] buyers query languages: expected a two-letter code"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\nmonthly_reads = 3000001\nquery = {keywords = ["crm"]}\n',
     "[[listen]] buyers monthly_reads: expected a whole number of reads from 0 to 3000000, got 3000001"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\nmonthly_reads = -5\nquery = {keywords = ["crm"]}\n',
     "[[listen]] buyers monthly_reads: expected a whole number of reads from 0 to 3000000, got -5"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\ninterval = "10s"\nquery = {keywords = ["crm"]}\n',
     "[[listen]] buyers interval: expected a duration of at least 60 seconds"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\nweight = "high"\nquery = {keywords = ["crm"]}\n',
     "[[listen]] buyers weight: expected points from"),
    ('[[listen]]\nname = "buyers"\naccounts = ["sandbox"]\nbudget = 5\nquery = {keywords = ["crm"]}\n',
     "[[listen]] buyers budget: unknown key"),
    ('[[listen]]\nname = "b"\naccounts = ["sandbox"]\nquery = {keywords = ["crm"]}\n[[listen]]\nname = "b"\n'
     'accounts = ["sandbox"]\nquery = {keywords = ["crm"]}\n', "[[listen]] b: expected a unique name"),
    ('[[listen]]\nname = "a b"\n', "[[listen]] #1 name: expected a name of letters"),
    ('listen = {name = "b"}\n', "listen: expected an array of tables"),
    # --- not TOML ---------------------------------------------------------------------------
    ('[loop\n', "not valid TOML"),
]


def _config(row: tuple) -> str:
    snippet, _, *workspace_line = row
    base = BASE
    if workspace_line:  # a line of [workspace], in place of the base's line for that key
        key = workspace_line[0].split("=")[0].strip()
        base = "".join(line for line in base.splitlines(keepends=True) if not line.startswith(f"{key} ="))
        base = base.replace('[workspace]\n', f'[workspace]\n{workspace_line[0]}\n')
    if snippet.startswith("accounts ="):
        return snippet + base.split("[[accounts]]")[0]  # top-level keys go before the first table
    if snippet.startswith(("routing =", "listen =")):
        return snippet + base
    return base + "\n" + snippet


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file's bytes, and the database's content (its bytes move when SQLite checkpoints
    the earlier command's write-ahead log, which changes nothing)."""
    files = {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith("socialsell.db")}
    with closing(sqlite3.connect(folder / "socialsell.db")) as db:
        files["socialsell.db"] = hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()
    return files


@pytest.fixture
def used_workspace(workspace, cli, monkeypatch):
    """The test workspace with a database that has a post in it; the current folder is the
    workspace, as when a user runs socialsell there."""
    monkeypatch.chdir(workspace.parent)
    assert cli("post", "new", "--channel", "sandbox", "--text", "Hello", "--at", "+1h").exit_code == 0
    return workspace


@pytest.mark.parametrize("row", BAD, ids=[r[1][:50] for r in BAD])
def test_a_bad_config_is_one_line_exit_2_and_changes_nothing(used_workspace, cli, row):
    used_workspace.write_text(_config(row))
    before = _snapshot(used_workspace.parent)
    for command in (["tasks", "--json"], ["run", "--once"]):
        result = cli(*command)
        assert result.exit_code == 2, (command, result.output)
        assert result.output.startswith("Error: socialsell.toml: ")
        assert result.output.count("\n") == 1 and "Traceback" not in result.output
        assert row[1] in result.output, result.output
    assert _snapshot(used_workspace.parent) == before


def test_there_are_at_least_40_bad_configs():
    assert len(BAD) >= 40


@pytest.mark.parametrize("command", [
    ["tasks"], ["tasks", "--json"], ["post", "list"], ["queue"], ["status"], ["run", "--once"],
    ["post", "new", "--channel", "sandbox", "--text", "hi", "--queue"], ["contacts"], ["slots"], ["channels"], ["task", "show", "1"],
    ["channels", "check", "sandbox"], ["templates", "list"], ["campaign", "list"],
])
def test_every_command_refuses_a_broken_config_the_same_way(used_workspace, cli, command):
    used_workspace.write_text(BASE + '\n[loop]\ngrace = "soon"\n')
    before = _snapshot(used_workspace.parent)
    result = cli(*command)
    assert result.exit_code == 2, result.output
    assert result.output == ("Error: socialsell.toml: [loop] grace: expected a duration like 300, \"5m\", \"2h\" or "
                             "\"1d\" (at most 365d), got 'soon'\n")
    assert _snapshot(used_workspace.parent) == before


def test_the_file_is_named_by_its_path_outside_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path / "a" / "socialsell.toml"
    with pytest.raises(ConfigError) as inside:
        build_workspace(elsewhere, {"loop": {"grace": "soon"}})
    assert str(inside.value).startswith(f"{Path('a') / 'socialsell.toml'}: [loop] grace:")


# --- good configs -------------------------------------------------------------------------


def test_the_config_init_writes_loads_with_every_value_typed(workspace):
    ws = build_workspace(workspace, tomlkit.parse(workspace.read_text()).unwrap())
    s = ws.settings
    assert ws.name == "Test" and str(ws.timezone) == "Europe/Berlin" and s.workspace.require_approval is False
    assert ws.accounts["sandbox"].poll_interval == 60 and ws.accounts["sandbox"].slots == ["mon-fri 09:00, 12:30, 16:00"]
    assert [r.name for r in ws.team] == ["alice", "bob"] and s.team.lead == "morgan"
    assert s.sla.business_hours_text == "mon-fri 09:00-17:30" and s.sla.response_hours == 4.0
    assert s.leads.weights["reply"] == 8.0 and "seats" in s.leads.intent_keywords
    assert s.leads.ignore_handles == ["@competitor_co", "@botlike123"]
    assert s.guardrails.banned_words == ["guarantee", "free money"]
    assert s.loop.grace == 3600 and s.loop.max_attempts == 5 and s.notify.email is None


def test_every_key_set_to_a_good_value_is_read_typed(tmp_path):
    data = tomlkit.parse('''
[workspace]
name = "Acme"
timezone = "America/New_York"
database = "sqlite:///data/acme.db"
require_approval = true
[[accounts]]
name = "acme-x"
channel = "x"
poll_interval = "15m"
engagement_window_days = 3
slots = "tue 10:00"
handle = "@acme"
client_id = {env = "X_CLIENT_ID"}
callback_port = 8765
[team]
lead = "morgan"
reps = ["carol"]
[[routing]]
owner = "carol"
channel = "x"
keyword = "enterprise"
territory = "Berlin"
[sla]
business_hours = "mon-thu 08:00-16:00; fri 08:00-12:00"
response_hours = 2.5
high_intent_hours = 0.5
escalate_after_hours = 0.5
holidays = ["2026-12-25", 2026-12-26]
[leads]
half_life_days = 0
task_threshold = 3
lead_threshold = 9
qualified_threshold = 20
[leads.weights]
like = 0.5
webinar_signup = 10
[leads.intent]
keywords = ["Pricing"]
points = 10
question_points = 0
[leads.icp]
headline_keywords = ["CTO"]
companies = ["Globex"]
regions = ["EMEA"]
points = 5
min_followers = 1000
[leads.ignore]
handles = ["@Bot"]
headline_keywords = ["Recruiter"]
own_handles = ["@acme_support"]
[guardrails]
banned_words = ["guarantee"]
required_hashtags = ["#acme"]
disclaimer = "Ad."
[guardrails.utm]
enabled = false
medium = "organic"
source = {x = "twitter"}
[notify.email]
host = "smtp.example.com"
from = "bot@example.com"
starttls = false
username = "bot"
password = {env = "SMTP_PASSWORD"}
send_at = "07:30"
timeout = 5
[marketing]
evergreen_gap = "2w"
evergreen_autofill = true
evergreen_days = 14
[loop]
grace = 600
max_attempts = 3
backoff_base = "10s"
backoff_cap = "10m"
lease = "5m"
reconcile_after = "1m"
batch = 50
''').unwrap()
    ws = build_workspace(tmp_path / "socialsell.toml", data)
    s = ws.settings
    assert ws.db_url == f"sqlite:///{tmp_path.resolve() / 'data' / 'acme.db'}" and s.workspace.require_approval
    acc = ws.accounts["acme-x"]
    assert (acc.poll_interval, acc.engagement_window_days, acc.slots, acc.handle) == (900, 3, ["tue 10:00"], "@acme")
    assert acc.settings["callback_port"] == 8765  # the plugin's own keys are kept as written
    assert [r.name for r in ws.team] == ["carol"] and s.routing[0].territory == "Berlin"
    assert s.sla.holidays == frozenset({date(2026, 12, 25), date(2026, 12, 26)}) and s.sla.escalate_after_hours == 0.5
    assert s.leads.weights["webinar_signup"] == 10 and s.leads.weights["reply"] == 8
    assert s.leads.intent_keywords == ["pricing"] and s.leads.icp_keywords == ["cto"] and s.leads.min_followers == 1000
    assert s.leads.ignore_handles == ["@bot"] and s.leads.own_handles == ["@acme_support"]
    assert s.guardrails.utm.enabled is False and s.guardrails.utm.source == {"x": "twitter"}
    email = s.notify.email
    assert (email.port, email.sender, email.send_at, email.password) == (25, "bot@example.com", time(7, 30), {"env": "SMTP_PASSWORD"})
    assert (s.marketing.evergreen_gap, s.marketing.evergreen_days) == (14 * 86400, 14)
    assert (s.loop.grace, s.loop.backoff_base, s.loop.backoff_cap, s.loop.lease, s.loop.batch) == (600, 10, 600, 300, 50)


def test_utm_false_turns_tagging_off_and_reps_may_have_a_role_and_timezone(tmp_path):
    s = parse_settings(tmp_path / "s.toml", {
        "guardrails": {"utm": False},
        "team": {"reps": [{"name": "dana", "role": "ae", "timezone": "Asia/Tokyo"}]},
    })
    assert s.guardrails.utm.enabled is False
    assert (s.team.reps[0].role, s.team.reps[0].timezone) == ("ae", "Asia/Tokyo")


def test_a_banned_word_given_as_a_list_bans_the_word_not_its_letters(workspace, cli):
    result = cli("post", "new", "--channel", "sandbox", "--text", "A free money guarantee", "--queue")
    assert result.exit_code == 2 and "banned word 'guarantee'" in result.output
    assert cli("post", "new", "--channel", "sandbox", "--text", "A plain post", "--queue").exit_code == 0


def test_the_local_timezone_comes_from_tzlocal_and_falls_back_to_utc(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert local_timezone() == "Asia/Tokyo"
    monkeypatch.setenv("TZ", "Not/AZone")
    assert local_timezone() == "UTC"


# --- every key is documented ----------------------------------------------------------------


def test_every_key_the_settings_know_is_documented():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    sections = re.split(r"^#+ ", doc, flags=re.M)
    for table, keys in KNOWN_KEYS.items():
        if not table:
            for section in keys:
                assert f"`[{section}" in doc or f"`[[{section}" in doc, f"section [{section}] is not in docs/configuration.md"
            continue
        if keys == ("*",):  # any key (a kind, a channel type): the table itself is documented
            assert f"`{table.rsplit('.', 1)[-1]}`" in doc or f"`[{table}]`" in doc, f"[{table}] is not documented"
            continue
        heading = next((s for s in sections
                        if f"`[{table}]`" in s.partition("\n")[0] or f"`[[{table}]]`" in s.partition("\n")[0]), None)
        assert heading is not None, f"[{table}] has no section in docs/configuration.md"
        for key in keys:
            if key != "*":
                assert f"`{key}`" in heading, f"[{table}] {key} is not documented in docs/configuration.md"


# --- arbitrary values ---------------------------------------------------------------------


def _core_keys() -> list[tuple[str, str]]:
    return [(table, key) for table, keys in KNOWN_KEYS.items() if table for key in keys if key != "*"]


VALUES = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["5m", "0s", "1.5h", "99999999999w", "09:00", "24:00", "Europe/Berlin", "mon-fri 09:00-17:00",
                     "mon-fri 09:00, 12:30", "2026-12-25", "sqlite:///x.db", "", " ", "\x00"]),
    st.dates(),
    st.lists(st.one_of(st.text(max_size=8), st.integers(), st.dates()), max_size=3),
    st.dictionaries(st.sampled_from(["env", "keyring", "file", "enabled", "x", "name"]),
                    st.one_of(st.text(max_size=6), st.booleans()), max_size=2),
)


def _place(table: str, key: str, value: object) -> dict:
    """A config with ``value`` at ``table.key`` (arrays of tables get one valid entry)."""
    if table == "accounts":
        return {"accounts": [{"name": "sandbox", "channel": "sandbox", key: value}]}
    if table == "team.reps":
        return {"accounts": [{"name": "sandbox", "channel": "sandbox"}], "team": {"reps": [{"name": "dana", key: value}]}}
    if table == "routing":
        return {"accounts": [{"name": "sandbox", "channel": "sandbox"}], "routing": [{"owner": "dana", key: value}]}
    if table in ("listen", "listen.query"):  # one stream on the sandbox, the value in it or in its query
        query = {"keywords": ["crm"], **({key: value} if table == "listen.query" else {})}
        entry = {"name": "buyers", "accounts": ["sandbox"], "query": query, **({key: value} if table == "listen" else {})}
        return {"accounts": [{"name": "sandbox", "channel": "sandbox"}], "listen": [entry]}
    data: dict = {}
    node = data
    for part in table.split("."):
        node = node.setdefault(part, {})
    if table == "notify.email" and key not in ("host", "from"):
        node.update({"host": "smtp.example.com", "from": "bot@example.com"})
    node[key] = value
    return {"accounts": [{"name": "sandbox", "channel": "sandbox"}], **data}


TABLES = sorted({table for table, _ in _core_keys()})
PLACES = st.one_of(st.sampled_from(_core_keys()), st.tuples(st.sampled_from(TABLES), st.text(min_size=1, max_size=12)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(place=PLACES, value=VALUES)
def test_any_value_in_a_core_key_loads_or_is_one_config_error(tmp_path_factory, place, value):
    data = _place(*place, value)
    try:
        text = tomlkit.dumps(data)
    except Exception:  # a value TOML cannot hold (tomlkit refuses it): nothing to load
        return
    path = tmp_path_factory.getbasetemp() / "socialsell.toml"
    try:
        build_workspace(path, tomlkit.parse(text).unwrap())
    except ConfigError as e:
        assert "\n" not in str(e) and "socialsell.toml: " in str(e)


def _exercise(app, clock) -> None:
    """Every reader of the settings, and one pass of every job, on the loaded config."""
    from datetime import timedelta

    from socialsell.loop.worker import Worker, run_once
    from socialsell.marketing import guardrails
    from socialsell.marketing.evergreen import evergreen_gap
    from socialsell.marketing.slots import next_free_slot
    from socialsell.sales.notify import email_settings
    from socialsell.sales.routing import choose_owner, due_time
    from socialsell.sales.scoring import score_lines, stage_for

    now = clock.now
    due_time(app, now, True), due_time(app, now, False)
    rules = app.settings.leads
    lines = score_lines({"kind": "reply", "text": "pricing? https://x.example/a"}, {"headline": "CTO"}, rules, app)
    stage_for(sum(p for _, p in lines), rules)
    account = next(iter(app.workspace.accounts))  # "sandbox", unless the example renamed it
    # a channel type no plugin provides loads (plugins are not loaded to read the config) and
    # is said when the account is used; the loop skips that account
    if app.workspace.account(account).channel in app.channel_types:
        channel = app.channel(account)
        text = guardrails.apply(app, "see https://x.example/a", channel=channel, account=account, campaign=None)
        guardrails.check(app, text)
    evergreen_gap(app), email_settings(app)
    with app.db.read() as conn:
        choose_owner(app, conn, {"location": "Berlin"}, {"text": "enterprise", "channel": "sandbox"})
        if app.workspace.account(account).slots:
            next_free_slot(app, conn, account, after=now)
    worker = Worker(app)
    run_once(app, worker, now + timedelta(hours=2))
    errors = {job: v["last_error"] for job, v in worker.snapshot().items() if v.get("last_error")}
    assert not errors


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(place=st.sampled_from(_core_keys()), value=VALUES)
def test_any_value_is_one_line_exit_2_or_loads_and_no_job_fails_on_it(used_workspace, cli, make_app, clock, place, value):
    data = _place(*place, value)
    data.setdefault("workspace", {}).setdefault("timezone", "Europe/Berlin")
    try:
        used_workspace.write_text(tomlkit.dumps(data))
    except Exception:  # a value TOML cannot hold: nothing to load
        return
    result = cli("tasks", "--json")
    if result.exit_code == 2:
        assert result.output.startswith("Error: socialsell.toml: ") and result.output.count("\n") == 1, result.output
        return
    assert result.exit_code == 0, result.output
    _exercise(make_app(), clock)
