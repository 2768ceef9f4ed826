"""Issue 12 item 7: times a rep can read: their own zone, dates beyond this week, no bare dates."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from socialsell.sales.tasks import get_task

from .test_sales_cli import seeded  # noqa: F401  (the fixture)


def _bob_in_new_york(workspace):
    text = workspace.read_text()
    workspace.write_text(text.replace('name = "bob"', 'name = "bob"\ntimezone = "America/New_York"'))


def test_a_rep_reads_and_types_times_in_their_own_zone(cli, app, workspace, seeded):  # noqa: F811
    _bob_in_new_york(workspace)
    uk = str(seeded["uk"])
    r = cli("task", "next", uk, "call Uk", "--at", "thu 14:00", actor="bob")
    assert r.exit_code == 0, r.output
    assert "Thu 26 Nov 14:00" in r.output
    assert get_task(app, seeded["uk"])["next_step_due"] == datetime(2026, 11, 26, 19, 0, tzinfo=UTC)  # 14:00 in New York
    listing = cli("tasks", actor="bob", env={"COLUMNS": "200"}).output
    assert "follow-ups for bob (times in America/New_York)" in listing and "Thu 14:00" in listing
    alice = cli("tasks", "--all", actor="alice", env={"COLUMNS": "200"}).output
    assert "(times in Europe/Berlin)" in alice and "Thu 20:00" in alice  # the same moment, in alice's zone


def test_a_due_time_beyond_this_week_shows_its_date(cli, seeded):  # noqa: F811
    assert cli("task", "next", str(seeded["dana"]), "send the contract", "--at", "+10d").exit_code == 0
    listing = cli("tasks", env={"COLUMNS": "200"}).output
    assert "Thu 03 Dec" in listing


def test_a_bare_date_is_refused(cli, app, seeded):  # noqa: F811
    for args in (("task", "next", str(seeded["dana"]), "call", "--at", "2026-12-01"),
                 ("task", "snooze", str(seeded["dana"]), "tomorrow"),
                 ("post", "new", "-c", "sandbox", "--text", "hi", "--at", "2026-12-01")):
        r = cli(*args)
        assert r.exit_code == 2 and r.output.startswith("Error:") and r.output.count("\n") == 1, r.output
    assert "has no time of day" in cli("task", "next", str(seeded["dana"]), "call", "--at", "2026-12-01").output
    assert get_task(app, seeded["dana"])["next_step"] is None
    assert json.loads(cli("post", "list", "--json").output) == []


def test_a_bad_time_zone_is_a_config_error(cli, workspace):
    workspace.write_text(workspace.read_text().replace('name = "bob"', 'name = "bob"\ntimezone = "Mars/Olympus"'))
    r = cli("tasks", actor="bob")
    assert r.exit_code == 2 and "timezone" in r.output and "Mars/Olympus" in r.output
