"""``socialsell init``: a new workspace with an annotated config, templates and the database."""

from __future__ import annotations

import json
import shutil
from importlib.resources import files
from pathlib import Path

from socialsell.config import CONFIG_NAME
from socialsell.errors import UsageError

DEFAULT_CONFIG = '''\
# socialsell workspace. Times are stored in UTC and shown in this time zone.
# Docs: docs/configuration in the socialsell repository. Secrets are never written here:
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
    folder = folder.expanduser().resolve()
    check_timezone(timezone)  # before anything is written: a refused init leaves nothing behind
    config = folder / CONFIG_NAME
    if config.exists() and not force:
        raise UsageError(f"{config} already exists (use --force to overwrite it)")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: not a folder; give a folder for the workspace")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"{folder}: cannot create the workspace folder ({e.strerror})") from None
    # json's string escapes are TOML's: a quote or backslash in the name cannot break the file
    config.write_text(DEFAULT_CONFIG.format(name=json.dumps(name or folder.name)[1:-1], timezone=timezone),
                      encoding="utf-8")
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
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, or ValueError for a path-like name
        raise UsageError(f"--timezone {name[:60]!r}: not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)") from None


def local_timezone() -> str:
    """The machine's IANA zone name, or UTC."""
    import os

    tz = os.environ.get("TZ")
    if tz and "/" in tz:
        return tz
    try:
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            return link.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    return "UTC"
