"""Issue 12 item 6: roles in [team], approvers, --as checked against the team, `socialsell log`."""

from __future__ import annotations

import json

import pytest

from socialsell.cli import hoist_as


def test_unknown_as_exits_2_naming_the_team(cli):
    r = cli("tasks", actor="carol")
    assert r.exit_code == 2
    assert r.output == ("Error: socialsell.toml: --as 'carol' is not in [team]: alice (rep), bob (rep), morgan (lead) "
                        "(add them there)\n")


def test_as_is_case_insensitive_and_works_after_the_subcommand(cli, workspace, clock):
    from click.testing import CliRunner

    from socialsell.cli import build_cli

    assert "no open follow-ups for alice" in cli("tasks", actor="ALICE").output
    runner = CliRunner()
    r = runner.invoke(build_cli(clock=clock), ["--config", str(workspace), "tasks", "--as", "Bob"])
    assert r.exit_code == 0 and "no open follow-ups for bob" in r.output, r.output
    r = runner.invoke(build_cli(clock=clock), ["--config", str(workspace), "tasks", "--as=carol"])
    assert r.exit_code == 2 and "is not in [team]" in r.output


@pytest.mark.parametrize("args, expected", [
    (["tasks", "--as", "bob"], ["--as", "bob", "tasks"]),
    (["--as", "bob", "tasks"], ["--as", "bob", "tasks"]),
    (["task", "note", "3", "--", "--as", "x"], ["task", "note", "3", "--", "--as", "x"]),
    (["tasks", "--as=bob", "--json"], ["--as=bob", "tasks", "--json"]),
])
def test_hoist_as(args, expected):
    assert hoist_as(args) == expected


def _draft(cli, actor):
    r = cli("post", "new", "-c", "sandbox", "--text", f"by {actor}", "--queue", "--json", actor=actor)
    assert r.exit_code == 0, r.output
    return str(json.loads(r.output)[0]["id"])


def test_a_post_is_approved_by_an_approver_other_than_its_author(cli, workspace):
    text = workspace.read_text().replace("require_approval = false", "require_approval = true")
    workspace.write_text(text.replace('lead = "morgan"', 'lead = "morgan"\nmarketers = ["intern"]\napprovers = ["morgan", "alice"]'))
    by_intern, by_morgan = _draft(cli, "intern"), _draft(cli, "morgan")
    r = cli("post", "approve", by_intern, actor="intern")
    assert r.exit_code == 2 and "intern may not approve posts (approvers: morgan, alice" in r.output
    r = cli("post", "approve", by_morgan, actor="morgan")
    assert r.exit_code == 2 and "morgan wrote this post" in r.output
    assert cli("post", "approve", by_morgan, actor="alice").exit_code == 0
    assert cli("post", "approve", by_intern, actor="Morgan").exit_code == 0
    trail = json.loads(cli("log", "--kind", "post.approved", "--json").output)
    assert [(e["actor"], e["subject"]) for e in trail] == [("morgan", f"post:{by_intern}"), ("alice", f"post:{by_morgan}")]


def test_a_bad_role_is_a_config_error(cli, workspace):
    workspace.write_text(workspace.read_text().replace('name = "bob"', 'name = "bob"\nrole = "boss"'))
    r = cli("tasks", actor="alice")
    assert r.exit_code == 2 and "team.reps[1].role" in r.output and "boss" in r.output


def test_log_shows_who_did_what(cli, app):
    from .test_sales import eng, run

    task = run(app, eng("@dana", "comment", "What does pricing look like?")).tasks_created[0]
    assert cli("task", "note", str(task["id"]), "called, no answer").exit_code == 0
    assert cli("task", "assign", str(task["id"]), "bob").exit_code == 0
    assert cli("task", "log", str(task["id"]), "call", "spoke to Dana", actor="bob").exit_code == 0
    rows = json.loads(cli("log", "--json").output)
    assert [(e["actor"], e["kind"]) for e in rows[:3]] == [("bob", "task.logged"), ("alice", "task.assigned"), ("alice", "task.note")]
    assert all(e["subject"] == f"task:{task['id']}" for e in rows[:3])
    assert [e["kind"] for e in json.loads(cli("log", "--actor", "BOB", "--json").output)] == ["task.logged"]
    assert len(json.loads(cli("log", "--subject", f"task:{task['id']}", "--limit", "2", "--json").stdout)) == 2
    human = cli("log", env={"COLUMNS": "200"}).output
    assert "task.assigned" in human and "to=bob" in human
    assert cli("log", "--limit", "-1").exit_code == 2
    assert len(json.loads(cli("log", "--limit", "0", "--json").stdout)) == len(rows)
