"""Issue 12 item 1: the first touch stops the SLA clock; then the task is due at its next step.

``tasks --overdue``, ``work``, the digest and the SLA job (with its escalations) agree.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from socialsell.sales.notify import digest_for
from socialsell.sales.sla import check_sla
from socialsell.sales.tasks import get_task

from .test_sales_cli import seeded  # noqa: F401  (the fixture)


def _overdue_ids(cli, actor="alice"):
    return [x["id"] for x in json.loads(cli("tasks", "--overdue", "--json", actor=actor).output)]


def test_a_reply_stops_the_clock_and_never_escalates(cli, app, clock, seeded):  # noqa: F811
    dana, repost = seeded["dana"], seeded["repost"]
    r = cli("task", "reply", str(dana), "Hi Dana, happy to share pricing: a call this week?")
    assert r.exit_code == 0, r.output
    clock.advance(hours=2)
    listing = cli("tasks").output
    assert "replied 2h ago" in listing

    clock.advance(days=2)  # far past both SLAs and the escalation delay
    assert _overdue_ids(cli) == [repost]
    fired = check_sla(app, clock.now)["breaches"]
    assert sorted(fired) == [(repost, "escalated"), (repost, "overdue"), (seeded["uk"], "escalated"), (seeded["uk"], "overdue")]
    assert check_sla(app, clock.now)["breaches"] == []  # once
    digest = digest_for(app, "alice", clock.now)
    assert [x["id"] for x in digest["overdue"]] == [repost]
    task = get_task(app, dana)
    assert task["overdue"] is False and task["first_response_kind"] == "reply"
    assert task["replied_at"] == task["first_response_at"]
    # the replied task is listed last: it waits on Dana, it is not late
    assert [x["id"] for x in json.loads(cli("tasks", "--json").output)] == [repost, dana]
    shown = cli("task", "show", str(dana)).output
    assert "replied 2d ago" in shown and "OVERDUE" not in shown.splitlines()[0]


def test_a_logged_call_with_a_next_step_makes_the_task_due_then(cli, app, clock, seeded):  # noqa: F811
    dana = seeded["dana"]
    r = cli("task", "log", str(dana), "call", "Spoke with Dana, wants a proposal", "--next", "send the proposal",
            "--at", "+1d")
    assert r.exit_code == 0, r.output
    assert "logged a call" in r.output and "next: send the proposal" in r.output
    task = get_task(app, dana)
    assert task["first_response_kind"] == "call" and task["due_at"] == task["next_step_due"]
    assert task["due_at"] == clock.now.replace(day=24)
    listing = cli("tasks", env={"COLUMNS": "200"}).output
    assert "next: send the proposal (called just now)" in listing

    clock.advance(hours=25)  # the next step is missed: overdue, flagged once, never escalated
    assert dana in _overdue_ids(cli)
    assert (dana, "overdue") in check_sla(app, clock.now)["breaches"]
    clock.advance(hours=20)
    assert all(b[0] != dana for b in check_sla(app, clock.now)["breaches"])
    assert [x["id"] for x in digest_for(app, "alice", clock.now)["overdue"]].count(dana) == 1

    # a new next step re-arms: not overdue now, flagged again when it too is missed
    assert cli("task", "next", str(dana), "proposal review call", "--at", "+2h").exit_code == 0
    assert dana not in _overdue_ids(cli)
    clock.advance(hours=3)
    assert (dana, "overdue") in check_sla(app, clock.now)["breaches"]
    assert get_task(app, dana)["first_response_kind"] == "call"  # the first response stays the first


def test_a_next_step_before_the_first_touch_does_not_move_the_sla_deadline(cli, app, clock, seeded):  # noqa: F811
    """``task next`` on a follow-up nobody has answered moves its due time, not its first-touch
    deadline (``sla_due_at``): the SLA job flags and escalates it by that deadline, as the
    report's SLA section judges it."""
    dana = seeded["dana"]
    deadline = get_task(app, dana)["sla_due_at"]
    assert cli("task", "next", str(dana), "call her after the board meeting", "--at", "+3d").exit_code == 0
    task = get_task(app, dana)
    assert task["first_response_at"] is None and task["sla_due_at"] == deadline < task["due_at"]
    clock.now = deadline + timedelta(hours=app.settings.sla.escalate_after_hours, minutes=1)
    assert clock.now < task["due_at"]  # by its due time it is not late yet; by the SLA it is
    fired = check_sla(app, clock.now)["breaches"]
    assert (dana, "overdue") in fired and (dana, "escalated") in fired
    rows = {r["id"]: r for r in json.loads(cli("report", "--format", "json", "--since", "7d", actor="morgan").output)}
    assert f"sla.breach.first_touch.{dana}" in rows  # the report names the same breach
    # and the rep's own list says it too: one definition of overdue (sales/lists.py)
    late = json.loads(cli("tasks", "--overdue", "--all", "--json").output)
    assert [t["id"] for t in late if t["id"] == dana] == [dana] and all(t["overdue"] for t in late)
    assert get_task(app, dana)["overdue"]
    assert dana in [t["id"] for t in digest_for(app, task["owner"], clock.now)["overdue"]]


def test_task_show_and_tasks_json_give_the_first_touch_deadline(cli, app, clock, seeded):  # noqa: F811
    """``sla_due_at`` beside the due time: after a next step the two differ, and the deadline is
    the one the SLA job and the report judge by."""
    dana = seeded["dana"]
    assert cli("task", "next", str(dana), "call her", "--at", "+3d").exit_code == 0
    deadline = get_task(app, dana)["sla_due_at"]
    [listed] = [x for x in json.loads(cli("tasks", "--json").output) if x["id"] == dana]
    [shown] = json.loads(cli("task", "show", str(dana), "--json").output)
    for task in (listed, shown):
        assert task["sla_due_at"] == deadline.isoformat() != task["due_at"], task
    local = deadline.astimezone(app.workspace.timezone).strftime("%a %d %b %H:%M")
    assert f"first-touch deadline: {local}\n" in cli("task", "show", str(dana)).output
    assert cli("task", "log", str(dana), "call", "Spoke with Dana").exit_code == 0
    assert f"first-touch deadline: {local} (met)" in cli("task", "show", str(dana)).output


def test_an_outcome_is_a_first_response(cli, app, seeded):  # noqa: F811
    assert cli("task", "done", str(seeded["repost"]), "--outcome", "connected").exit_code == 0
    assert get_task(app, seeded["repost"])["first_response_kind"] == "outcome"


@pytest.mark.parametrize("args", [
    ("task", "log", "{dana}", "fax", "sent a fax"),
    ("task", "log", "{dana}", "call", "  "),
    ("task", "log", "{dana}", "call", "spoke", "--next", "send it"),
    ("task", "log", "{dana}", "call", "spoke", "--at", "+1d"),
    ("task", "log", "{dana}", "call", "spoke", "--next", "send it", "--at", "whenever"),
    ("task", "log", "999", "call", "spoke"),
    ("task", "log", "{uk}", "call", "spoke"),
    ("task", "next", "{dana}", "send it", "--at", "2020-01-01 09:00"),
    ("task", "next", "{dana}", " ", "--at", "+1d"),
    ("task", "next", "{dana}", "send it", "--at", "soonish"),
])
def test_bad_touches_and_next_steps_are_one_line_exit_2(cli, app, seeded, args):  # noqa: F811
    r = cli(*[a.format(**seeded) for a in args])
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error:") and r.output.strip().count("\n") == 0
    task = get_task(app, seeded["dana"])
    assert task["first_response_at"] is None and task["next_step"] is None  # nothing changed
