"""Property tests, one per entry point: whatever the input, the real CLI ends in success or in
exactly one line ``Error: ...`` with exit status 2; never a traceback, never "internal error".

Entry points: durations (``task snooze``), ``--at``, ids, amounts, template text, CSV rows,
media paths. The parsers behind them are also checked directly, with many more examples.
"""

from __future__ import annotations

import csv
import io
import string
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from socialsell.cli.inputs import MAX_ID, check_amount, check_id
from socialsell.errors import UsageError
from socialsell.marketing.importer import neutralise, restore
from socialsell.marketing.posts import create_post
from socialsell.timeparse import MAX_AWAY, parse_interval, parse_when

from .test_sales import eng, run

CLI_SETTINGS = settings(max_examples=40, deadline=None,
                        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FAST = settings(max_examples=400, deadline=None)
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")

numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["0", "-0", "9" * 40, str(2**63), str(2**63 - 1), str(2**64), "1e3", "0x10", " 7 ", "+5"]),
)
durations = st.one_of(
    st.from_regex(r"\A[+-]?\d{1,25}\s?(s|m|min|h|d|w|y)?\Z"),
    st.builds(lambda n, u: f"+{n}{u}", st.integers(0, 10**30), st.sampled_from(["s", "m", "min", "h", "d", "w"])),
    st.text(max_size=40),
)
times = st.one_of(
    durations,
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(lambda d: d.isoformat(" ")),
    st.builds(lambda d, off: d.isoformat() + off, st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
              st.sampled_from(["+14:00", "-12:00", "Z", "+00:00"])),
    st.from_regex(r"\A(today|tomorrow|mon|sunday|someday)\s\d{1,3}:\d{1,3}\Z"),
)
amounts = st.one_of(st.floats().map(repr), st.floats().map(str), numbers, st.text(max_size=20),
                    st.sampled_from(["nan", "inf", "-inf", "NaN", "1e400", "-0.0", "1_000"]))
JINJA_TOKENS = ["{{", "}}", "{%", "%}", "for", "in", "endfor", "range(", ")", "(", "*", "**", "%", "9", "99999999", "'a'",
                "|center(", "|format(", "|replace(", "'%9999999d'", "x", " ", "set", "=", "~", ".", "__class__", ",",
                "if", "endif", "macro", "endmacro", "lipsum(", "|list", "-", "+", "{#", "#}", "\x00", "'{:>99999}'"]
template_text = st.one_of(st.text(max_size=80), st.lists(st.sampled_from(JINJA_TOKENS), max_size=25).map("".join))


def assert_one_line_or_success(result) -> None:
    assert "internal error" not in result.output and "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.output


@pytest.fixture
def ids(app):
    post_id = create_post(app, accounts=["sandbox"], text="Seed post", queue=True)
    task = run(app, eng("@dana", "comment", "What does pricing look like?")).tasks_created[0]
    return {"post": str(post_id), "task": str(task["id"])}


# --- through the command line ------------------------------------------------------------------


@CLI_SETTINGS
@given(text=durations)
@example(text="99999999999w")
@example(text="-2h")
def test_durations(cli, ids, text):
    assert_one_line_or_success(cli("task", "snooze", ids["task"], text))


@CLI_SETTINGS
@given(text=times)
@example(text="+99999999999d")
@example(text="0001-01-01T00:00:00+14:00")
def test_at(cli, ids, text):
    assert_one_line_or_success(cli("post", "new", "-c", "sandbox", "-t", "hi", "--at", text))
    assert_one_line_or_success(cli("post", "edit", ids["post"], "--at", text))


@CLI_SETTINGS
@given(value=numbers | st.text(max_size=30), command=st.sampled_from([("post", "show"), ("task", "show"), ("contact", "show"),
                                                                      ("post", "cancel"), ("task", "note")]))
@example(value=str(2**64), command=("task", "show"))
@example(value="-1", command=("post", "show"))
def test_ids(cli, ids, value, command):
    assert_one_line_or_success(cli(*command, value, *(["a note"] if command[1] == "note" else [])))


@CLI_SETTINGS
@given(value=amounts)
@example(value="nan")
def test_amounts(cli, ids, value):
    assert_one_line_or_success(cli("campaign", "new", "Budgeted", "--budget", value))
    assert_one_line_or_success(cli("task", "done", ids["task"], "-o", "won", "--amount", value))


@CLI_SETTINGS
@given(body=template_text)
@example(body="{{ 9 ** 99999999 }}")
@example(body="{{ 'a' * 2000000000 }}")
def test_template_text(cli, workspace, body):
    (workspace.parent / "templates" / "prop.j2").write_text(body, encoding="utf-8")
    assert_one_line_or_success(cli("templates", "preview", "prop", "-c", "sandbox"))


csv_cells = st.one_of(st.text(max_size=30), st.sampled_from(["sandbox", "tip", "+99999999999d", "0001-01-01 09:00", "tomorrow 09:00",
                                                             "=cmd|' /C calc'!A0", "tip=x", "nope"]))


@CLI_SETTINGS
@given(header=st.lists(st.sampled_from(["channel", "text", "template", "vars", "at", "campaign", "id", "status", "bogus"]),
                       min_size=1, max_size=6),
       rows=st.lists(st.lists(csv_cells, min_size=0, max_size=7), max_size=4), dry_run=st.booleans(),
       raw=st.none() | st.binary(max_size=200))
def test_csv_rows(cli, tmp_path, header, rows, dry_run, raw):
    path = tmp_path / "prop.csv"
    if raw is not None:
        path.write_bytes(raw)
    else:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")
    result = cli("import", "posts", str(path), *(["--dry-run"] if dry_run else []))
    assert "internal error" not in result.output and "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:  # one line per bad row, then one summary line when there are several
        errors = [line for line in result.stderr.strip().splitlines()]
        assert errors and all(line.startswith("Error: ") for line in errors), result.output


MEDIA_CHOICES = ["/dev/zero", "/dev/null", "/dev/urandom", "/etc/passwd", "/", ".", "..", "socialsell.toml", "ws/socialsell.toml",
                 "ws/templates", "/proc/self/mem", "/proc/self/fd/0", "missing.png", ""]


@CLI_SETTINGS
@given(path=st.sampled_from(MEDIA_CHOICES) | st.text(alphabet=string.printable + "\x00é", max_size=30))
def test_media_paths(cli, tmp_path, path):
    assert_one_line_or_success(cli("post", "new", "-c", "sandbox", "-t", "hi", "--queue", "--media", path))


# --- the parsers directly, with many more examples ---------------------------------------------


@FAST
@given(text=times)
def test_parse_when_gives_a_near_time_or_value_error(text):
    try:
        at = parse_when(text, NOW, BERLIN)
    except ValueError as e:
        assert "\n" not in str(e)
        return
    assert abs(at - NOW) <= MAX_AWAY and at.tzinfo is not None


@FAST
@given(text=durations)
def test_parse_interval_is_bounded(text):
    try:
        n, unit = parse_interval(text)
    except ValueError:
        return
    assert n >= 1 and unit in ("m", "min", "h", "d", "w")


@FAST
@given(value=numbers | st.text(max_size=30))
def test_check_id(value):
    try:
        n = check_id(value, "post")
    except UsageError:
        return
    assert 1 <= n <= MAX_ID


@FAST
@given(value=amounts)
def test_check_amount(value):
    try:
        n = check_amount(value, "--amount")
    except UsageError:
        return
    assert 0 <= n <= 1e12


@FAST
@given(text=st.text())
def test_csv_cells_are_never_formulas_and_come_back_unchanged(text):
    cell = neutralise(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "\n"))
    assert restore(cell) == text


def test_template_bombs_end_within_the_budget(cli, workspace: Path):
    for body in ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                 "{% set s = 'a' * 999999 %}{% for x in s %}{% for y in s %}{% endfor %}{% endfor %}"):
        (workspace.parent / "templates" / "bomb.j2").write_text(body)
        result = cli("templates", "preview", "bomb", "-c", "sandbox")
        assert result.exit_code == 2 and "rendering took longer than" in result.stderr, result.output
