"""The rep's command line: tasks, task verbs, contacts, contact merge, work."""

from __future__ import annotations

import json

import pytest

from socialsell.plugins.channel import Person

from .test_sales import eng, run


@pytest.fixture
def seeded(app):
    """alice: Dana (pricing) and a Paris founder's repost; bob: a UK reply."""
    dana = run(app, eng("@dana", "comment", "What does pricing look like?")).tasks_created[0]
    repost = run(app, eng("@x", "repost", person=Person("@fr", "Fr Founder", headline="Founder", location="Paris, France",
                                                        profile_url="https://p.example/fr"))).tasks_created[0]
    uk = run(app, eng("@x", "reply", "hello", person=Person("@uk", "Uk Person", location="London, UK"))).tasks_created[0]
    return {"dana": dana["id"], "repost": repost["id"], "uk": uk["id"], "dana_contact": dana["contact_id"]}


def test_tasks_lists_mine_most_urgent_first(cli, seeded):
    r = cli("tasks", "--json", actor="alice")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [x["id"] for x in rows] == [seeded["dana"], seeded["repost"]]
    assert rows[0]["contact"]["handles"][0]["handle"] == "@dana"
    human = cli("tasks", actor="alice").output
    assert "Dana Whitfield" in human and "Uk Person" not in human


def test_tasks_all_owner_overdue(cli, seeded, clock):
    assert len(json.loads(cli("tasks", "--all", "--json").output)) == 3
    assert [x["id"] for x in json.loads(cli("tasks", "--owner", "bob", "--json").output)] == [seeded["uk"]]
    assert json.loads(cli("tasks", "--overdue", "--json").output) == []
    assert "no open follow-ups for morgan" in cli("tasks", actor="morgan").output


def test_task_show(cli, seeded):
    r = cli("task", "show", str(seeded["dana"]))
    assert r.exit_code == 0, r.output
    for part in ("Dana Whitfield", "What does pricing look like?", "why this score", "suggested opener"):
        assert part in r.output
    assert json.loads(cli("task", "show", str(seeded["dana"]), "--json").output)[0]["id"] == seeded["dana"]


@pytest.mark.parametrize("args", [
    ("task", "show", "abc"), ("task", "show", "999"), ("task", "done", "999", "--outcome", "replied"),
    ("task", "snooze", "999", "2h"), ("task", "assign", "999", "bob"), ("task", "note", "999", "x"),
    ("task", "tag", "999", "x"), ("task", "reply", "999", "hi"), ("contact", "show", "999"),
    ("contact", "show", "0"), ("contact", "merge", "1", "999"),
])
def test_bad_ids_are_one_line_exit_2(cli, seeded, args):
    r = cli(*args)
    assert r.exit_code == 2, r.output
    assert r.output.strip().count("\n") == 0 and r.output.startswith("Error:")


@pytest.mark.parametrize("args", [
    ("task", "done", "{uk}", "--outcome", "replied"), ("task", "snooze", "{uk}", "2h"), ("task", "note", "{uk}", "x"),
    ("task", "tag", "{uk}", "x"), ("task", "reply", "{uk}", "hi"),
])
def test_someone_elses_task_is_refused(cli, seeded, args):
    r = cli(*[a.format(**seeded) for a in args], actor="alice")
    assert r.exit_code == 2 and "belongs to bob" in r.output
    assert r.output.strip().count("\n") == 0


def test_done_outcomes_and_amount(cli, seeded):
    assert cli("task", "done", str(seeded["dana"]), "--outcome", "bogus").exit_code == 2
    assert cli("task", "done", str(seeded["dana"]), "--outcome", "won").exit_code == 2  # needs --amount
    r = cli("task", "done", str(seeded["dana"]), "--outcome", "won", "--amount", "1200")
    assert r.exit_code == 0 and "won (1200)" in r.output
    again = cli("task", "done", str(seeded["dana"]), "--outcome", "lost")
    assert again.exit_code == 2 and "already done" in again.output
    shown = cli("contact", "show", str(seeded["dana_contact"])).output
    assert "customer" in shown and "1200" in shown


def test_snooze_assign_note_tag_reply(cli, seeded):
    tid = str(seeded["repost"])
    assert "snoozed until" in cli("task", "snooze", tid, "2h").output
    assert seeded["repost"] not in [x["id"] for x in json.loads(cli("tasks", "--json").output)]
    assert cli("task", "snooze", tid, "soonish").exit_code == 2
    assert cli("task", "note", tid, "called, voicemail").exit_code == 0
    assert cli("task", "tag", tid, "pricing objection").exit_code == 0
    assert cli("task", "assign", tid, "nobody").exit_code == 2
    assert "assigned to bob" in cli("task", "assign", tid, "bob").output
    r = cli("task", "reply", tid, "Thanks for sharing!", actor="bob")
    assert r.exit_code == 0 and "replied on task" in r.output and "sandbox://" in r.output
    shown = cli("task", "show", tid, actor="bob").output
    assert "insight by alice: pricing objection" in shown and "note by alice: called, voicemail" in shown


def test_reply_on_a_channel_that_cannot_says_so_with_the_link(cli, seeded, monkeypatch):
    from socialsell_sandbox.channel import SandboxChannel

    from socialsell.plugins.channel import Capabilities

    monkeypatch.setattr(SandboxChannel, "supports", Capabilities(publish=True, engagements=True, reply=False))
    r = cli("task", "reply", str(seeded["dana"]), "hi")
    assert r.exit_code == 1 and r.output.count("\n") == 1
    assert "cannot reply" in r.output and "reply by hand: sandbox://x/@dana" in r.output


def test_contacts_and_merge(cli, app):
    a = run(app, eng("@x", "comment", "demo?", person=Person("@dw", "Dana W", profile_url="https://x.example/danaw")))
    b = run(app, eng("@x", "reply", "hi", person=Person("danaw", "Dana W", profile_url="https://li.example/in/danaw")))
    ca, cb = a.tasks_created[0]["contact_id"], b.tasks_created[0]["contact_id"]
    rows = json.loads(cli("contacts", "--json").output)
    assert {x["id"] for x in rows} == {ca, cb} and all(x["handles"] for x in rows)
    assert cli("contacts", "--stage", "bogus").exit_code == 2
    pairs = json.loads(cli("contacts", "--suggest-merges", "--json").output)
    assert pairs[0]["id"] == ca and pairs[0]["merge_with"] == cb
    assert f"socialsell contact merge {ca} {cb}" in cli("contact", "show", str(ca)).output
    refused = cli("contact", "merge", str(ca), str(cb), "--yes")  # alice's and bob's: the lead's call
    assert refused.exit_code == 2 and "only the lead may merge them" in refused.output
    assert cli("contact", "merge", str(ca), str(cb), actor="morgan").exit_code == 2  # no terminal, no --yes
    r = cli("contact", "merge", str(ca), str(cb), "--yes", actor="morgan")
    assert r.exit_code == 0 and f"task {b.tasks_created[0]['id']} folded into task {a.tasks_created[0]['id']}" in r.output
    assert cli("contact", "merge", str(ca), str(cb), "--yes").exit_code == 2
    shown = cli("contact", "show", str(cb)).output
    assert f"was merged into {ca}" in shown and "@dw" in shown and "danaw" in shown
    assert len(json.loads(cli("contacts", "--json").output)) == 1


def test_contact_show_score_lines_add_up(cli, seeded):
    c = json.loads(cli("contact", "show", str(seeded["dana_contact"]), "--json").output)[0]
    assert round(sum(p for _, p in c["score_explained"]), 1) == c["score"]
    shown = cli("contact", "show", str(seeded["dana_contact"])).output
    assert f"=  {c['score']:.1f}" in shown and "score, line by line" in shown


def test_work_walks_my_tasks(cli, seeded):
    # first task (Dana): n note, d done -> meeting; second: s snooze 1d
    r = cli("work", input="nasked for a call\ndmeeting\nwed 14:00\ns1d\n")
    assert r.exit_code == 0, r.output
    assert "[1/2] task" in r.output and "noted" in r.output and f"task {seeded['dana']} done: meeting" in r.output
    assert "next step: task" in r.output and "at Wed 25 Nov 14:00" in r.output
    assert "snoozed until" in r.output and "end of the list: 1 closed, 1 snoozed, 1 still open" in r.output
    (meeting,) = json.loads(cli("tasks", "--json").output)  # the meeting, due then
    assert meeting["next_step"] == "meeting" and meeting["contact"]["id"] == seeded["dana_contact"]


def test_work_counts_skipped_tasks_as_left(cli, seeded):
    r = cli("work", input="kk")
    assert r.exit_code == 0, r.output
    assert "end of the list: 0 closed, 0 snoozed, 2 still open" in r.output
    assert "nothing left" not in r.output
    assert len(json.loads(cli("tasks", "--json").output)) == 2


def test_work_reply_skip_open_quit(cli, seeded):
    r = cli("work", input="x" "o" "rHello from work\n" "k" "q")
    assert r.exit_code == 0, r.output
    assert "unknown key 'x'" in r.output and "sandbox://x/@dana" in r.output
    assert "replied" in r.output and "[2/2]" in r.output and "stopped: 0 closed, 0 snoozed, 2 still open" in r.output


def test_work_won_asks_amount_and_bad_input_stays(cli, seeded):
    r = cli("work", input="sforever\n" "dwon\n1500\n" "q")
    assert "cannot read the duration" in r.output
    assert f"task {seeded['dana']} done: won (1500)" in r.output


def test_work_with_nothing_to_do(cli):
    assert "no open follow-ups for morgan" in cli("work", actor="morgan").output


def test_tasks_never_imports_network_libraries(workspace):
    import subprocess
    import sys

    code = ("import sys; from socialsell.cli import main\n"
            "try:\n    main(['--config', sys.argv[1], 'tasks', '--json'])\nexcept SystemExit: pass\n"
            "bad = [m for m in ('tweepy', 'linkedin_v2', 'apscheduler') if m in sys.modules]\n"
            "print('BAD', bad) if bad else print('CLEAN')")
    out = subprocess.run([sys.executable, "-c", code, str(workspace)], capture_output=True, text=True, timeout=60)
    assert "CLEAN" in out.stdout, out.stdout + out.stderr
