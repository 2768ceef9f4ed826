"""Hostile input, entry point by entry point: every row runs the real CLI and must end in exit
status 2, exactly one line (``Error: ...``) and no change at all, in the database (every table)
or in the workspace's files. A few rows are documented accepts (``ACCEPT``): input that looks
hostile but is a legitimate value, which must succeed instead.

Groups: CLI arguments of every command, ``--at``/durations/dates, templates and front matter,
CSV import, media files, plugin loading.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from socialsell.marketing.posts import create_post

from .test_sales import eng, run

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
ACCEPT = "accept"  # the expected outcome of a documented accept: exit 0

# --- the rows ----------------------------------------------------------------------------------
# (group, description, args, files to write first {relative path: text or bytes}, expected)
# In args and paths, {post}, {task}, {contact} are seeded ids and {tmp} the test's folder.

ROWS: list[tuple[str, str, tuple[str, ...], dict[str, str | bytes], str | None]] = []


def row(group: str, what: str, *args: str, files: dict[str, str | bytes] | None = None, expect: str | None = None) -> None:
    ROWS.append((group, what, args, files or {}, expect))


# CLI arguments: ids of every command that takes one
BAD_IDS = ["-1", "0", str(2**64), str(2**63), "abc", "1.5", "", "9" * 40, "0x10", "1e3", "99"]
ID_COMMANDS = [
    ("post", "show", "{id}"), ("post", "approve", "{id}"), ("post", "cancel", "{id}"), ("post", "retry", "{id}"),
    ("post", "edit", "{id}", "--text", "x"), ("task", "show", "{id}"), ("task", "assign", "{id}", "bob"),
    ("task", "note", "{id}", "hi"), ("task", "tag", "{id}", "pricing"), ("task", "reply", "{id}", "hi"),
    ("task", "done", "{id}", "-o", "replied"), ("task", "snooze", "{id}", "2h"), ("contact", "show", "{id}"),
    ("contact", "merge", "{contact}", "{id}"), ("signal", "show", "{id}"), ("signal", "promote", "{id}"),
    ("signal", "dismiss", "{id}"), ("signal", "tag", "{id}", "competitor: slow"), ("signal", "reply", "{id}", "hi"),
]  # fmt: skip
for i, command in enumerate(ID_COMMANDS):
    for bad in BAD_IDS[i % 3::2] + ["-1", str(2**64)]:  # every command gets the negative and the 2**64 one
        row("args", f"{' '.join(command[:2])} id {bad[:12]!r}", *(a.replace("{id}", bad) for a in command))

for args in [
    ("taks",), ("post", "lst"), ("tsks", "--all"), ("--nope",), ("tasks", "--jsno"), ("post", "list", "--status", "bogus"),
    ("post", "list", "-c", "nope"), ("queue", "--days", "0"), ("queue", "--days", "-1"), ("queue", "--days", "367"),
    ("queue", "--days", "abc"), ("queue", "--days", str(2**64)), ("queue", "-c", "nope"), ("contacts", "--stage", "bogus"),
    ("task", "done", "{task}", "-o", "bogus"), ("task", "done", "{task}", "-o", "won"),
    ("task", "done", "{task}", "-o", "won", "--amount", "nan"), ("task", "done", "{task}", "-o", "won", "--amount", "inf"),
    ("task", "done", "{task}", "-o", "won", "--amount", "-inf"), ("task", "done", "{task}", "-o", "won", "--amount", "-5"),
    ("task", "done", "{task}", "-o", "won", "--amount", "1e400"), ("task", "done", "{task}", "-o", "won", "--amount", "abc"),
    ("task", "done", "{task}", "-o", "won", "--amount", "1e13"), ("task", "note", "{task}", ""),
    ("campaign", "new", "X", "--budget", "nan"), ("campaign", "new", "X", "--budget", "inf"),
    ("campaign", "new", "X", "--budget", "-1"), ("campaign", "new", "X", "--budget", "1e400"),
    ("campaign", "new", ""), ("campaign", "new", "x" * 201), ("campaign", "new", "X", "--utm", "a b"),
    ("campaign", "new", "X", "--hashtag", "a b"), ("campaign", "new", "X", "-c", "nope"), ("campaign", "new", "Seed"),
    ("campaign", "show", "nope"), ("post", "new", "-c", "nope", "-t", "hi", "--queue"), ("post", "new", "-c", "sandbox", "--queue"),
    ("post", "new", "-c", "sandbox", "-t", "hi", "--queue", "--at", "+1h"), ("post", "new", "-c", "sandbox", "-t", "", "--queue"),
    ("post", "new", "-c", "sandbox", "-t", "   ", "--queue"), ("post", "new", "-c", "sandbox", "-t", "a\x00b", "--queue"),
    ("post", "new", "-c", "sandbox", "-t", "bell\x07", "--queue"), ("post", "new", "-c", "sandbox", "-t", "x" * 501, "--queue"),
    ("post", "new", "-c", "sandbox", "-t", "hi", "--var", "novalue", "--queue"),
    ("post", "new", "-c", "sandbox", "-t", "hi", "--queue", "--count", "5"),
    ("post", "new", "-c", "sandbox", "-t", "hi", "--queue", "--repeat", "7d", "--count", "0"),
    ("post", "new", "-c", "sandbox", "-t", "hi", "--queue", "--repeat", "7d", "--count", str(2**64)),
    ("post", "new", "-c", "sandbox", "-t", "hi", "--queue", "--repeat", "7d", "--count", "2", "--until", "2026-12-31"),
    ("post", "new", "-c", "sandbox", "-t", "hi", "--queue", "--campaign", "nope"),
    ("post", "new", "-c", "sandbox", "-t", "hi", "--template", "tip", "--queue"),
    ("post", "edit", "{post}"), ("post", "edit", "{post}", "--text", "a\x00b"), ("post", "edit", "{post}", "--var", "a=b"),
    ("post", "edit", "{post}", "-c", "nope", "--text", "x"), ("post", "approve", "{post}"),
    ("slots", "--add", "sat 10:00"), ("slots", "-c", "sandbox", "--add", "someday 25:00"),
    ("slots", "-c", "sandbox", "--set", "mon-fri 24:00"), ("slots", "-c", "nope", "--add", "sat 10:00"),
    ("templates", "preview", "tip", "-c", "sandbox", "--var", "=x"), ("templates", "preview", "tip", "-c", "nope"),
    ("templates", "preview", "nope", "-c", "sandbox"), ("channels", "check", "nope"), ("channels", "connect", "nope"),
    ("demo", "--days", "0"), ("demo", "--days", "-3"), ("init", "{tmp}/newws", "--timezone", "Mars/Olympus"),
    ("contact", "merge", "{contact}", "{contact}"), ("task", "assign", "{task}", ""),
    ("init", "/dev/null"), ("init", "/proc/no/such/folder"), ("init", "{tmp}/ws"), ("demo", "--dir", "/dev/null"),
    ("init", "{tmp}/newws", "--timezone", "../../etc/passwd"), ("--db", "nope://", "tasks"),
    ("sandbox", "engage", "--post", str(2**64), "--kind", "like", "--from", "@x"),
    ("sandbox", "engage", "--post", "-1", "--kind", "like", "--from", "@x"), ("sandbox", "fault", "bogus"),
    ("task", "reply", "{task}", "hi\x00there"), ("task", "note", "{task}", "a\x1b[31mred"), ("task", "tag", "{task}", "x\x00"),
]:
    row("args", " ".join(a[:16] for a in args[:5]), *args)

# --at, durations and dates
for at in ["+99999999999d", "+99999999999w", "+99999999999s", "+" + "9" * 30 + "h", "+" + "9" * 5000 + "m",
           "0001-01-01 09:00", "0001-01-01T00:00:00+14:00", "9999-12-31 23:59", "9999-12-31T23:59-12:00", "10000-01-01",
           "2026-02-30 09:00", "2026-13-01", "tomorrow 25:00", "mon 09:61", "", "yesterday", "2020-01-01 09:00",
           "+-1h", "+1y", "x" * 10000, "\x00", "+3660d", "2037-01-01 09:00"]:
    row("times", f"post new --at {at[:24]!r}", "post", "new", "-c", "sandbox", "-t", "hi", "--at", at)
for at in ["+99999999999d", "0001-01-01 09:00", "bogus"]:
    row("times", f"post retry --at {at!r}", "post", "retry", "{post}", "--at", at)
    row("times", f"post edit --at {at!r}", "post", "edit", "{post}", "--at", at)
for duration in ["99999999999w", "99999999999999999999m", "9" * 5000 + "d", "abc", "", "1y", "+99999999999d",
                 "0001-01-01 09:00", "-2h", "523w"]:
    row("times", f"task snooze {duration[:20]!r}", "task", "snooze", "{task}", duration)
for every in ["99999999999w", "0d", "7x", "", "367d", "53w", "9" * 100 + "d", "-7d", "1s", "8785h"]:
    row("times", f"--repeat {every[:20]!r}", "post", "new", "-c", "sandbox", "-t", "hi", "--queue", "--repeat", every)
for until in ["0001-01-01", "99999-01-01", "2020-01-01", "bad", "9999-12-31", "3000-01-01"]:
    row("times", f"--until {until!r}", "post", "new", "-c", "sandbox", "-t", "hi", "--queue", "--repeat", "7d", "--until", until)
row("times", "--repeat without a first time", "post", "new", "-c", "sandbox", "-t", "hi", "--repeat", "7d")
for opts in [("--starts", "0001-01-01"), ("--starts", "bad"), ("--starts", "9999-12-31T23:59+14:00"), ("--ends", "0001-01-01"),
             ("--ends", "99999-01-01"), ("--starts", "2027-01-02", "--ends", "2027-01-01"), ("--starts", "3001-01-01")]:
    row("times", f"campaign new {' '.join(opts)}", "campaign", "new", "Dated", *opts)

# templates and front matter: written to templates/bomb.j2, then previewed (and queued)
FRONT = "+++\ntitle = \"Bomb\"\n+++\n"
TEMPLATE_BODIES = {
    "power": "{{ 9 ** 99999999 }}",
    "repeat": "{{ 'a' * 2000000000 }}",
    "repeat list": "{{ (range(100000)|list) * 100000 }}",
    "nested ranges": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x",
    "nested string loops": "{% set s = 'a' * 999999 %}{% for x in s %}{% for y in s %}{% endfor %}{% endfor %}x",
    "center filter": "{{ 'a'|center(2000000000) }}",
    "center method": "{{ 'a'.center(10**9) }}",
    "ljust method": "{{ 'a'.ljust(10**9) }}",
    "percent width": "{{ '%999999999d' % 1 }}",
    "percent star": "{{ '%*d' % (999999999, 1) }}",
    "format filter width": "{{ '%999999999s'|format('x') }}",
    "format method width": "{{ '{:>999999999}'.format(1) }}",
    "format nested width": "{{ '{:>{}}'.format(1, 999999999) }}",
    "replace bomb": "{{ 'ab'|replace('', 'x' * 500000) }}",
    "indent bomb": "{{ 'a\nb'|indent(999999999) }}",
    "big output": "{% for i in range(20000) %}abcdefgh{% endfor %}",
    "recursion": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "lipsum": "{{ lipsum(100000) }}",
    "class": "{{ ''.__class__.__mro__ }}",
    "globals": "{{ cycler.__init__.__globals__ }}",
    "self context": "{{ self._TemplateReference__context }}",
    "mutate": "{% set x = [] %}{{ x.append(1) }}",
    "function printed": "{{ lipsum }}",
    "none printed": "{{ none }}",
    "undefined": "{{ nope }}",
    "division by zero": "{{ 1 / 0 }}",
    "unclosed if": "{% if true %}x",
    "bad syntax": "{{ }}",
    "include": "{% include 'other.j2' %}",
    "extends outside": "{% extends '../../../etc/passwd' %}",
    "NUL in output": "{{ 'a' ~ '\\x00' ~ 'b' }}",
    "no block for the channel": "{% block linkedin %}x{% endblock %}",
    "over the channel limit": "{% for i in range(600) %}x{% endfor %}",
}
for what, body in TEMPLATE_BODIES.items():
    row("templates", f"body: {what}", "templates", "preview", "bomb", "-c", "sandbox", files={"ws/templates/bomb.j2": FRONT + body})
for what in ("power", "nested ranges", "NUL in output", "class"):
    row("templates", f"post new with body: {what}", "post", "new", "--template", "bomb", "-c", "sandbox", "--queue",
        files={"ws/templates/bomb.j2": FRONT + TEMPLATE_BODIES[what]})
FRONT_MATTERS = {
    "not TOML": "+++\ntitle = \n+++\nx",
    "requires a number": "+++\nrequires = 5\n+++\nx",
    "requires a string": "+++\nrequires = \"product\"\n+++\n{{ product }}",
    "requires a table": "+++\nrequires = {a = 1}\n+++\nx",
    "channels a number": "+++\nchannels = 5\n+++\nx",
    "hashtags a number": "+++\nhashtags = 5\n+++\n{{ hashtags }}",
    "campaign unknown": "+++\ncampaign = \"Nope\"\n+++\nx",
    "campaign a list": "+++\ncampaign = [1, 2]\n+++\nx",
    "utm a number": "+++\nutm = 5\n+++\nx https://acme.example/",
    "link a table": "+++\nlink = {a = 1}\n+++\n{{ link }}",
    "unterminated": "+++\ntitle = \"x\"\nx",
}
for what, text in FRONT_MATTERS.items():
    row("templates", f"front matter: {what}", "post", "new", "--template", "bomb", "--queue",
        *(() if "channels" in what else ("-c", "sandbox")), files={"ws/templates/bomb.j2": text})
row("templates", "front matter channels a number (preview)", "templates", "list", files={"ws/templates/bomb.j2": "+++\ntitle = \n+++\nx"})
row("templates", "not UTF-8", "templates", "preview", "bomb", "-c", "sandbox", files={"ws/templates/bomb.j2": b"\xff\xfe{{ x }}"})
row("templates", "huge file", "templates", "preview", "bomb", "-c", "sandbox", files={"ws/templates/bomb.j2": "x" * 300_000})
for name in ["../../outside", "../outside", "/etc/passwd", "a/b", "", ".hidden", "con\x00", "x" * 300, "..", "%2e%2e/outside"]:
    row("templates", f"name {name[:20]!r}", "templates", "preview", name, "-c", "sandbox", files={"outside.j2": "secret {{ 1 }}"})
row("templates", "post new --template ../outside", "post", "new", "--template", "../outside", "-c", "sandbox", "--queue",
    files={"outside.j2": "secret"})

# CSV import: posts.csv in the test's folder
CSV_ROWS = {
    "at +99999999999d": "channel,text,at\nsandbox,hi,+99999999999d\n",
    "at year 1": "channel,text,at\nsandbox,hi,0001-01-01 09:00\n",
    "at year 1 east of UTC": "channel,text,at\nsandbox,hi,0001-01-01T00:00+14:00\n",
    "at year 9999": "channel,text,at\nsandbox,hi,9999-12-31 23:59\n",
    "at 2**64 seconds": f"channel,text,at\nsandbox,hi,+{2**64}s\n",
    "at unreadable": "channel,text,at\nsandbox,hi,soonish\n",
    "NUL in text": "channel,text\nsandbox,a\x00b\n",
    "NUL in a campaign name": "channel,text,campaign\nsandbox,hi,a\x00b\n",
    "control character": "channel,text\nsandbox,a\x1bb\n",
    "text too long": "channel,text\nsandbox," + "x" * 501 + "\n",
    "template bomb": "channel,template\nsandbox,bomb\n",
    "template outside": "channel,template\nsandbox,../../outside\n",
    "template unknown": "channel,template\nsandbox,nope\n",
    "vars broken": "channel,template,vars\nsandbox,tip,=x\n",
    "campaign unknown": "channel,text,campaign\nsandbox,hi,Nope\n",
    "channel unknown": "channel,text\nsandbox;;nope,hi\n",
    "text and template": "channel,text,template\nsandbox,hi,tip\n",
    "more fields": "channel,text\nsandbox,hi,extra\n",
    "unknown column": "channel,text,owner\nsandbox,hi,bob\n",
    "no text column": "channel,at\nsandbox,+1h\n",
    "empty file": "",
    "field over the csv limit": "channel,text\nsandbox," + "x" * 200_000 + "\n",
    "id column 2**64 is ignored but the text is bad": f"id,channel,text\n{2**64},sandbox,\x00\n",
    "exported row with bad time": "id,delivery,channel,status,at,published_at,campaign,text,url,error\n"
                                  "1,1,sandbox,scheduled,0001-01-01T00:00:00+00:00,,,hi,,\n",
}
for what, text in CSV_ROWS.items():
    row("csv", what, "import", "posts", "{tmp}/posts.csv", files={"posts.csv": text, "ws/templates/bomb.j2": "{{ 9 ** 99999999 }}",
                                                                  "outside.j2": "secret"})
row("csv", "not UTF-8", "import", "posts", "{tmp}/posts.csv", files={"posts.csv": b"channel,text\nsandbox,\xff\xfe\n"})
row("csv", "binary", "import", "posts", "{tmp}/posts.csv", files={"posts.csv": bytes(range(256)) * 8})
row("csv", "a folder", "import", "posts", "{tmp}/folder", files={"folder/x": "x"})
row("csv", "no such file", "import", "posts", "{tmp}/missing.csv")
row("csv", "/dev/zero", "import", "posts", "/dev/zero")
row("csv", "a FIFO", "import", "posts", "{tmp}/fifo.csv", files={"fifo.csv": "FIFO"})
row("csv", "dry run of a bad row", "import", "posts", "{tmp}/posts.csv", "--dry-run",
    files={"posts.csv": "channel,text,at\nsandbox,hi,+99999999999d\n"})
row("csv", "accept: a text starting with '=' is a post text", "import", "posts", "{tmp}/posts.csv",
    files={"posts.csv": "channel,text\nsandbox,=1+1 is two\n"}, expect=ACCEPT)

# media files
MEDIA = {
    "/dev/zero": "/dev/zero", "/dev/null": "/dev/null", "the config": "{tmp}/ws/socialsell.toml", "a folder": "{tmp}/ws/templates",
    "no such file": "{tmp}/missing.png", "empty file": "{tmp}/empty.png", "text named .png": "{tmp}/text.png",
    "a FIFO": "{tmp}/pipe.png", "symlink to /dev/zero": "{tmp}/zero.png", "PNG over the channel's 5 MB": "{tmp}/big.png",
    "PNG over 200 MB": "{tmp}/huge.png", "video on a channel without video": "{tmp}/clip.mp4", "NUL in the name": "a\x00b.png",
    "empty name": "",
}
MEDIA_FILES: dict[str, str | bytes] = {"empty.png": b"", "text.png": "not an image", "pipe.png": "FIFO", "zero.png": "LINK:/dev/zero",
                                       "big.png": "SPARSE:6000000", "huge.png": "SPARSE:210000000", "clip.mp4": MP4,
                                       "ok.png": PNG}
for what, path in MEDIA.items():
    row("media", what, "post", "new", "-c", "sandbox", "-t", "hi", "--queue", "--media", path, files=MEDIA_FILES)
row("media", "five images", "post", "new", "-c", "sandbox", "-t", "hi", "--queue",
    *[a for _ in range(5) for a in ("--media", "{tmp}/ok.png")], files=MEDIA_FILES)
row("media", "accept: one PNG", "post", "new", "-c", "sandbox", "-t", "hi", "--queue", "--media", "{tmp}/ok.png",
    files=MEDIA_FILES, expect=ACCEPT)

# plugin loading: a folder of plugins (SOCIALSELL_PLUGINS_DIR)
HOOKIMPL = "from socialsell import hookimpl\n"
PLUGINS = {
    "sys.exit(0) at import": "import sys\nsys.exit(0)\n",
    "SystemExit(3) at import": "raise SystemExit(3)\n",
    "syntax error": "def (:\n",
    "import error": "import socialsell_no_such_module\n",
    "exception at import": "raise RuntimeError('boom\\nsecond line')\n",
    "KeyError at import": "{}['x']\n",
    "a hook that does not exist": HOOKIMPL + "@hookimpl\ndef socialsell_no_such_hook():\n    pass\n",
    "a channel named like a built-in": HOOKIMPL + "from socialsell.plugins.channel import Channel\n"
    "class Fake(Channel):\n    name = 'sandbox'\n    def publish(self, text, *, media=()):\n        raise NotImplementedError\n"
    "@hookimpl\ndef register_channels(register):\n    register('sandbox', Fake)\n",
    "register_channels raises": HOOKIMPL + "@hookimpl\ndef register_channels(register):\n    raise ValueError('nope')\n",
    "register_channels exits": HOOKIMPL + "import sys\n@hookimpl\ndef register_channels(register):\n    sys.exit(0)\n",
    "register_commands raises": HOOKIMPL + "@hookimpl\ndef register_commands(cli):\n    raise ValueError('nope')\n",
    "register_commands exits": HOOKIMPL + "import sys\n@hookimpl\ndef register_commands(cli):\n    sys.exit(0)\n",
}
for what, source in PLUGINS.items():
    for command in (("plugins",), ("post", "new", "-c", "sandbox", "-t", "hi", "--queue")):
        # built-in commands never call register_commands (only an unknown command name or --help
        # does), so a plugin's broken register_commands cannot stop them: a documented accept
        accept = ACCEPT if "register_commands" in what and command[0] == "post" else None
        row("plugins", f"{what}: {command[0]}", *command, files={"plugs/bad.py": source}, expect=accept)
    if "register_commands" in what:
        row("plugins", f"{what}: an unknown command", "nosuchcommand", files={"plugs/bad.py": source})
row("plugins", "plugins dir missing", "plugins", files={"plugs": "NOPLUGINS"})
row("plugins", "plugins dir is a file", "plugins", files={"plugs": "FILE"})


# --- the harness -------------------------------------------------------------------------------


@pytest.fixture
def seeded(app, clock):
    """A post, a task (alice's) and its contact, a campaign: ids for the rows to aim at."""
    from socialsell.marketing.campaigns import create_campaign

    post_id = create_post(app, accounts=["sandbox"], text="Seed post", queue=True)
    task = run(app, eng("@dana", "comment", "What does pricing look like?")).tasks_created[0]
    create_campaign(app, "Seed")
    return {"post": str(post_id), "task": str(task["id"]), "contact": str(task["contact_id"])}


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "FIFO":
            os.mkfifo(path)
        elif content == "FILE":
            path.write_text("not a folder")
        elif content == "NOPLUGINS":
            continue
        elif isinstance(content, str) and content.startswith("LINK:"):
            path.symlink_to(content[5:])
        elif isinstance(content, str) and content.startswith("SPARSE:"):
            with open(path, "wb") as f:
                f.write(PNG)
                f.truncate(int(content[7:]))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def db_dump(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {name: sorted(map(repr, conn.execute(f'SELECT * FROM "{name}"'))) for name in tables}
    finally:
        conn.close()


def files_state(root: Path) -> dict[str, str]:
    """Every file under ``root`` (the workspace and the test's folder) and its content's hash."""
    state = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if name.startswith("socialsell.db"):
                continue  # the database is compared table by table
            info = path.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_size < 10_000_000:
                state[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                state[str(path.relative_to(root))] = f"{stat.S_IFMT(info.st_mode)}:{info.st_size}"
    return state


def fill(arg: str, ids: dict[str, str], tmp: Path) -> str:
    for key, value in ids.items():
        arg = arg.replace("{" + key + "}", value)
    return arg.replace("{tmp}", str(tmp))


def _id(r) -> str:
    return f"{r[0]}: {r[1]}"


def test_the_table_has_150_rows_or_more_in_every_group():
    groups = {g for g, *_ in ROWS}
    assert len(ROWS) >= 150
    assert groups == {"args", "times", "templates", "csv", "media", "plugins"}


@pytest.mark.parametrize("group, what, args, files, expect", ROWS, ids=[_id(r) for r in ROWS])
def test_hostile_input_is_one_line_exit_2_and_changes_nothing(cli, seeded, workspace, tmp_path, group, what, args, files,
                                                             expect):
    write_files(tmp_path, files)
    env = {"SOCIALSELL_PLUGINS_DIR": str(tmp_path / "plugs")} if group == "plugins" else None
    db = workspace.parent / "socialsell.db"
    before = (db_dump(db), files_state(tmp_path))
    result = cli(*(fill(a, seeded, tmp_path) for a in args), env=env)
    if expect == ACCEPT:
        assert result.exit_code == 0, result.output
        return
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert result.stdout == "", result.stdout
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert (db_dump(db), files_state(tmp_path)) == before


def test_a_stored_unbounded_rule_stops_only_its_own_series(app, clock):
    """A rule stored before --repeat was bounded (99999999999w) must not stop the other series."""
    from datetime import timedelta

    from sqlalchemy import update

    from socialsell.db import schema as t
    from socialsell.loop.publishing import publish_due
    from socialsell.marketing.recurring import schedule_next_occurrences

    bad = create_post(app, accounts=["sandbox"], text="Bad rule", at=clock.now + timedelta(minutes=1),
                      recurrence={"every": "7d"})
    good = create_post(app, accounts=["sandbox"], text="Good rule", at=clock.now + timedelta(minutes=1),
                       recurrence={"every": "7d"})
    with app.db.write() as conn:
        conn.execute(update(t.posts).where(t.posts.c.id == bad).values(recurrence={"every": "99999999999w"}))
    app.channel("sandbox").audience = False
    clock.advance(minutes=2)
    publish_due(app, "w", clock.now)
    created = schedule_next_occurrences(app)
    assert len(created) == 1
    with app.db.read() as conn:
        parent = conn.execute(t.posts.select().where(t.posts.c.id == created[0])).mappings().one()["recurrence_parent_id"]
    assert parent == good
