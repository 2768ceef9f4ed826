"""Listening on the sandbox: streams, signals, the job's exactly-once commit, the budget, the
commands (``signals``, ``signal ...``, ``listen test``), ``status`` and the report's feedback.

The sandbox's audience posts in public on its own (deterministic per seed and hour, on the test
clock); ``SandboxChannel.say`` adds a post by hand. X and Bluesky are in test_listening_networks.py.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from socialsell.db import schema as t
from socialsell.loop.listening import listen
from socialsell.loop.polling import LeaseLost
from socialsell.plugins.channel import SearchQuery

STREAM = """
[[listen]]
name = "buyers"
accounts = ["sandbox"]
interval = "15m"
weight = 2
monthly_reads = {budget}
[listen.query]
keywords = ["follow-ups", "crm"]
phrases = ["social selling"]
hashtags = ["socialselling"]
competitors = ["rivalinc"]
exclude = ["hiring"]
languages = ["en"]
"""


def add_stream(workspace, budget: int = 1000, extra: str = "") -> None:
    text = workspace.read_text()
    # a quiet sandbox: only what a test says (the audience's own posts are tested apart)
    text = text.replace('poll_interval = "1m"\n', 'poll_interval = "1m"\naudience = false\n', 1)
    workspace.write_text(text + STREAM.format(budget=budget) + extra)


@pytest.fixture
def listening(workspace):
    add_stream(workspace)
    return workspace


def say(app, handle: str, text: str, **kw) -> str:
    return app.channel("sandbox").say(handle=handle, text=text, **kw)


def signals_of(app) -> list[dict]:
    with app.db.read() as conn:
        return [dict(r) for r in conn.execute(select(t.signals).order_by(t.signals.c.id)).mappings()]


def snapshot_db(workspace) -> str:
    with closing(sqlite3.connect(workspace.parent / "socialsell.db")) as db:
        return hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()


# --- the query's meaning ---------------------------------------------------------------------


def test_a_query_matches_words_phrases_tags_and_competitors_but_not_exclusions_or_other_languages():
    q = SearchQuery(keywords=("crm",), phrases=("social selling",), hashtags=("sales",), competitors=("rivalinc",),
                    exclude=("hiring",), languages=("en",))
    assert q.matched_term("Which CRM do you use?") == "crm"
    assert q.matched_term("microcrm is not a word match") is None
    assert q.matched_term("Social  selling is hard") is None  # a phrase is the words as written
    assert q.matched_term("social selling is hard") == '"social selling"'
    assert q.matched_term("love #Sales") == "#sales"
    assert q.matched_term("love #salesops") is None
    assert q.matched_term("@RivalInc is slow") == "@rivalinc"
    assert q.matched_term("anything", author="@rivalinc") == "@rivalinc"
    assert q.matched_term("we are hiring a crm admin") is None
    assert q.matched_term("crm", lang="de") is None
    assert q.terms() == ["crm", '"social selling"', "#sales", "@rivalinc"]


# --- the sandbox searches ----------------------------------------------------------------------


def test_the_sandbox_audience_posts_on_its_own_deterministically_and_the_cursor_never_repeats(app, clock):
    channel = app.channel("sandbox")
    query = SearchQuery(phrases=("social selling",), hashtags=("socialselling",), competitors=("rivalinc",))
    first = channel.search(query, None, limit=100)
    again = channel.search(query, None, limit=100)
    assert [f.external_id for f in first.found] == [f.external_id for f in again.found]  # same clock, same posts
    assert first.found and first.reads == len(first.found)
    assert all(query.matched_term(f.text, f.person.handle, f.lang) for f in first.found)
    assert all(clock.now - timedelta(days=7) <= f.occurred_at <= clock.now for f in first.found)
    assert not channel.search(query, first.cursor, limit=100).found  # nothing new at the same time
    clock.advance(days=3)
    later = channel.search(query, first.cursor, limit=100)
    assert later.found and not {f.external_id for f in later.found} & {f.external_id for f in first.found}
    # pages: the cursor goes on where the last page stopped
    small = channel.search(query, first.cursor, limit=1)
    assert small.more and [f.external_id for f in small.found] == [later.found[0].external_id]


# --- the job -----------------------------------------------------------------------------------


def test_a_stranger_asking_to_buy_becomes_a_follow_up_with_the_reason_and_a_weak_match_waits(listening, make_app, clock):
    app = make_app()
    say(app, "@nora_sdr", "Any tool that turns comments into follow-ups? What is the pricing?", name="Nora Quinn")
    say(app, "@omar", "Half of our comments never reach a rep. #socialselling", name="Omar")
    say(app, "@felix", "We are hiring people who love social selling")  # excluded
    say(app, "@ivan", "Great ride this morning")  # no term
    (report,) = listen(app, "buyers", "w1")
    assert (report.found, report.stored, report.promoted) == (2, 2, 1)
    nora, omar = signals_of(app)
    assert nora["status"] == "promoted" and nora["term"] == "follow-ups" and nora["task_id"]
    assert omar["status"] == "new" and omar["term"] == "#socialselling" and omar["task_id"] is None
    assert omar["points"] == 2 + 2  # the signal weight and the stream's weight: below the threshold of 5
    assert ["listening stream 'buyers'", 2] in omar["score_lines"]
    with app.db.read() as conn:
        task = conn.execute(select(t.tasks).where(t.tasks.c.id == nora["task_id"])).mappings().one()
        engagement = conn.execute(select(t.engagements).where(t.engagements.c.task_id == task["id"])).mappings().one()
    assert task["reason"].startswith("listening 'buyers' matched follow-ups: \"Any tool that turns")
    assert task["intent"] and task["owner"]
    assert engagement["kind"] == "signal" and "listening stream 'buyers'" in engagement["raw"]["reasons"]
    # the next run reads on from the cursor: nothing twice
    clock.advance(minutes=15)
    (again,) = listen(app, "buyers", "w1")
    assert (again.found, again.stored) == (0, 0)
    assert len(signals_of(app)) == 2


def test_a_match_is_stored_once_however_many_times_it_is_found(listening, make_app, clock):
    app = make_app()
    say(app, "@omar", "CRM question: who answers comments?")
    (first,) = listen(app, "buyers", "w1")
    with app.db.write() as conn:  # forget the cursor: the same post comes back
        conn.execute(t.listen_cursors.delete())
    (second,) = listen(app, "buyers", "w1")
    assert first.stored == 1 and second.found == 1 and second.stored == 0
    with app.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.engagements)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(t.tasks)).scalar() == 1


def test_a_crash_between_search_and_commit_loses_nothing_and_doubles_nothing(listening, make_app, clock, monkeypatch):
    app = make_app()
    say(app, "@nora", "What does a CRM for follow-ups cost?")
    from socialsell.loop import listening as job

    real = job.store_matches

    def crash(*args, **kwargs):
        real(*args, **kwargs)  # written, then the process dies before the commit
        raise RuntimeError("killed")

    monkeypatch.setattr(job, "store_matches", crash)
    with pytest.raises(RuntimeError):
        listen(app, "buyers", "w1")
    assert signals_of(app) == []
    with app.db.read() as conn:
        assert conn.execute(select(t.listen_cursors.c.value)).scalar() is None
        assert conn.execute(select(func.count()).select_from(t.tasks)).scalar() == 0
    monkeypatch.setattr(job, "store_matches", real)
    with app.db.write() as conn:  # the dead worker's lease ran out
        conn.execute(t.leases.delete())
    (report,) = listen(app, "buyers", "w2")
    assert report.stored == 1 and len(signals_of(app)) == 1


def test_a_worker_whose_lease_was_taken_commits_nothing(listening, make_app, clock, monkeypatch):
    app = make_app()
    say(app, "@nora", "Any CRM advice?")
    from socialsell.loop import leases

    monkeypatch.setattr(leases, "renew_in", lambda *a, **k: False)
    with pytest.raises(LeaseLost):
        listen(app, "buyers", "w1")
    assert signals_of(app) == []


def test_the_monthly_budget_is_never_exceeded_and_status_says_the_spend_and_next_run(workspace, make_app, clock, cli):
    add_stream(workspace, budget=3)
    app = make_app()
    for i in range(5):
        say(app, f"@p{i}", f"crm question number {i}")
    (first,) = listen(app, "buyers", "w1")
    assert first.reads == 3 and first.stored == 3
    assert first.skipped.startswith("monthly budget spent: 3 of 3 reads in 2026-11")
    clock.advance(hours=1)
    (second,) = listen(app, "buyers", "w1")
    assert second.reads == 0 and second.skipped.startswith("monthly budget spent")
    with app.db.read() as conn:
        assert conn.execute(select(t.listen_spend.c.reads)).scalar() == 3
    info = json.loads(cli("status", "--json").stdout)[0]
    (stream,) = info["listening"]
    assert (stream["name"], stream["reads"], stream["monthly_reads"], stream["budget_left"]) == ("buyers", 3, 3, 0)
    assert stream["next_run_at"] is not None
    human = cli("status", env={"COLUMNS": "250"}).output
    assert "listening (2026-11, UTC)" in human and "buyers" in human
    # a new month: a new budget
    clock.now = clock.now.replace(month=12, day=1, hour=0, minute=5)
    (december,) = listen(app, "buyers", "w1")
    assert december.reads == 2 and december.stored == 2


def test_a_failed_search_bills_nothing_and_is_recorded(listening, make_app, clock):
    app = make_app()
    say(app, "@nora", "crm?")
    app.channel("sandbox").queue_fault("server_error", on="poll")
    (report,) = listen(app, "buyers", "w1")
    assert report.error.startswith("sandbox: 503")
    with app.db.read() as conn:
        assert conn.execute(select(t.listen_spend.c.reads)).scalar() == 0
        assert conn.execute(select(t.listen_cursors.c.last_error)).scalar().startswith("sandbox: 503")
    (report,) = listen(app, "buyers", "w1")
    assert report.stored == 1


def test_the_loop_runs_the_stream_and_never_replies(listening, cli, make_app, clock):
    app = make_app()
    say(app, "@nora", "Which CRM turns comments into follow-ups? Pricing please")
    result = cli("run", "--once")
    assert result.exit_code == 0, result.output
    assert "listen:buyers on sandbox: 1 new signals, 1 follow-ups" in result.output
    with app.channel("sandbox").state(write=False) as s:
        assert not [p for p in s["posts"] if p.get("reply_to")]


# --- the commands --------------------------------------------------------------------------------


def test_signals_lists_promotes_dismisses_and_tags(listening, cli, make_app, clock):
    app = make_app()
    for i in range(3):
        say(app, f"@weak{i}", f"#socialselling thought number {i}")
    say(app, "@lina", "@rivalinc support ignored our ticket for a week")
    listen(app, "buyers", "w1")
    rows = json.loads(cli("signals", "--json").stdout)
    assert len(rows) == 4 and all(r["status"] == "new" and r["id"] for r in rows)
    cut = cli("signals", "--limit", "2")
    assert cut.exit_code == 0 and "showing 2 of 4; --limit 0 for all" in cut.output
    assert len(json.loads(cli("signals", "--json", "--stream", "buyers", "--limit", "0").stdout)) == 4
    weak = [r for r in rows if r["handle"].startswith("@weak")]
    lina = next(r for r in rows if r["handle"] == "@lina")

    promoted = cli("signal", "promote", str(weak[0]["id"]))
    assert promoted.exit_code == 0, promoted.output
    task_id = int(promoted.output.split("task ")[1].split()[0])
    shown = json.loads(cli("task", "show", str(task_id), "--json").stdout)[0]
    assert shown["reason"].startswith("listening 'buyers' matched #socialselling")
    assert cli("signal", "dismiss", str(weak[1]["id"])).exit_code == 0
    tagged = cli("signal", "tag", str(lina["id"]), "competitor: slow support")
    assert tagged.exit_code == 0 and "competitor insight" in tagged.output
    left = json.loads(cli("signals", "--json").stdout)
    assert {r["id"] for r in left} == {weak[2]["id"], lina["id"]}
    assert {r["status"] for r in json.loads(cli("signals", "--status", "all", "--json").stdout)} == {"new", "promoted", "dismissed"}

    clock.advance(hours=1)
    report = cli("report", "--section", "feedback", "--format", "json")
    assert report.exit_code == 0, report.output
    heard = [r for r in json.loads(report.stdout) if r["id"].startswith("feedback.heard.")]
    assert heard == [{"id": f"feedback.heard.{lina['id']}", "section": "feedback", "table": "heard",
                      "when": "Mon 23 Nov 09:00", "by": "alice", "about": "competitor",
                      "insight": "competitor: slow support", "who": "@lina", "stream": "buyers",
                      "they_said": "@rivalinc support ignored our ticket for a week"}]


@pytest.mark.parametrize("args, message", [
    (["signals", "--stream", "sellers"], "--stream: no listening stream 'sellers' (streams: buyers)"),
    (["signals", "--limit", "-1"], "--limit': must be a whole number, 0 for all, not '-1'"),
    (["signals", "--limit", "many"], "--limit': must be a whole number, 0 for all, not 'many'"),
    (["signal", "promote", "999"], "no signal with id 999"),
    (["signal", "promote", "abc"], "signal"),
    (["signal", "dismiss", "99999999999999999999999"], "signal"),
    (["signal", "tag", "1", "  "], "the insight is empty"),
    (["signal", "tag", "1", "x", "--about", "weather"], "--about"),
    (["listen", "test", "", "--channel", "sandbox"], "nothing to look for"),
    (["listen", "test", '"unbalanced', "--channel", "sandbox"], "No closing quotation"),
    (["listen", "test", "--channel", "sandbox", "--", "-only -exclusions"], "nothing to look for"),
    (["listen", "test", "crm lang:english", "--channel", "sandbox"], "languages: a two-letter code"),
    (["listen", "test", "crm", "--channel", "sandbx"], "unknown channel account 'sandbx'"),
    (["listen", "test", "crm", "--channel", "sandbox", "--limit", "0"], "--limit must be from 1 to 100"),
    (["listen", "test", "crm"], "Missing option '--channel'"),
])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(listening, cli, make_app, args, message):
    app = make_app()
    say(app, "@weak", "#socialselling is fun")
    listen(app, "buyers", "w1")
    before = snapshot_db(listening)
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and message in result.output, result.output
    assert snapshot_db(listening) == before


def test_promoting_twice_or_dismissing_a_follow_up_is_refused(listening, cli, make_app):
    app = make_app()
    say(app, "@weak", "#socialselling is fun")
    listen(app, "buyers", "w1")
    (row,) = json.loads(cli("signals", "--json").stdout)
    assert cli("signal", "promote", str(row["id"])).exit_code == 0
    for verb in ("promote", "dismiss"):
        result = cli("signal", verb, str(row["id"]))
        assert result.exit_code == 2 and "already follow-up task" in result.output


def test_listen_test_shows_what_would_match_and_stores_nothing(listening, cli, make_app):
    app = make_app()
    say(app, "@nora", "Any CRM with a trial?")
    say(app, "@omar", "crm thoughts")
    cli("signals")  # the database exists and is migrated before the snapshot
    before = snapshot_db(listening)
    result = cli("listen", "test", 'crm "turns comments" -hiring lang:en', "--channel", "sandbox", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["handle"], r["term"], r["would"]) for r in rows] == [
        ("@nora", "crm", "follow-up"), ("@omar", "crm", "signal (waits for triage)")]
    assert snapshot_db(listening) == before


def test_a_stream_on_a_channel_that_cannot_search_is_refused_by_run_and_listen_test(workspace, cli):
    text = workspace.read_text()
    workspace.write_text(text + '\n[[accounts]]\nname = "acme-page"\nchannel = "linkedin"\nauthor = "urn:li:organization:1"\n'
                         + STREAM.format(budget=100).replace('accounts = ["sandbox"]', 'accounts = ["acme-page"]'))
    cli("signals")
    before = snapshot_db(workspace)
    result = cli("run", "--once")
    assert result.exit_code == 2
    assert result.output == ("Error: socialsell.toml: [[listen]] buyers: account 'acme-page' (LinkedIn) cannot search; "
                             "listen on an account whose channel can (docs/listening.md)\n")
    result = cli("listen", "test", "crm", "--channel", "acme-page")
    assert result.exit_code == 2 and "LinkedIn cannot search" in result.output
    assert snapshot_db(workspace) == before


def test_a_stream_naming_an_unknown_account_is_refused_at_load(workspace, cli):
    workspace.write_text(workspace.read_text() + STREAM.format(budget=10).replace('["sandbox"]', '["sandbx"]'))
    result = cli("tasks")
    assert result.exit_code == 2
    assert "[[listen]] buyers accounts: expected names of [[accounts]] (sandbox): 'sandbx' is not one (did you mean sandbox?)" in result.output


# --- answering ---------------------------------------------------------------------------------


def test_a_signal_is_answered_by_a_person_through_the_guardrails_once_per_thread(listening, cli, make_app):
    assert 'banned_words = ["guarantee", "free money"]' in listening.read_text()  # as `socialsell init` writes it
    app = make_app()
    say(app, "@weak", "#socialselling is hard")
    listen(app, "buyers", "w1")
    (row,) = json.loads(cli("signals", "--json").stdout)
    refused = cli("signal", "reply", str(row["id"]), "We guarantee results")
    assert refused.exit_code == 2 and "banned word 'guarantee'" in refused.output
    assert json.loads(cli("signals", "--json").stdout)[0]["status"] == "new"  # nothing changed
    first = cli("signal", "reply", str(row["id"]), "Happy to show you how we do it")
    assert first.exit_code == 0, first.output
    again = cli("signal", "reply", str(row["id"]), "Any thoughts?")
    assert again.exit_code == 2 and "already answered in this thread" in again.output and "--again" in again.output
    assert cli("signal", "reply", str(row["id"]), "Any thoughts?", "--again").exit_code == 0
    with app.channel("sandbox").state(write=False) as s:
        replies = [p for p in s["posts"] if p.get("reply_to") == row["external_id"]]
    assert [p["text"] for p in replies] == ["Happy to show you how we do it", "Any thoughts?"]
    signal = json.loads(cli("signal", "show", str(row["id"]), "--json").stdout)[0]
    task = json.loads(cli("task", "show", str(signal["task_id"]), "--json").stdout)[0]
    assert task["first_response_kind"] == "reply" and signal["status"] == "promoted"


def test_streams_store_on_postgresql_too(workspace, db_url, make_app):
    add_stream(workspace)
    app = make_app(db_url)
    say(app, "@nora", "Which CRM has pricing for small teams?")
    say(app, "@omar", "#socialselling rocks")
    (report,) = listen(app, "buyers", "w1")
    (again,) = listen(app, "buyers", "w2")
    assert (report.stored, report.promoted, again.stored) == (2, 1, 0)


# --- the demo and the read-only path ------------------------------------------------------------


def test_the_demo_puts_a_strangers_buying_question_on_a_reps_list_and_a_competitor_complaint_in_the_report(tmp_path, pm):
    """Done means (issue 17): in the demo, someone who never engaged asks a buying question on a
    listened topic and lands on a rep's list with the reason; a competitor complaint, tagged, is
    in the report's feedback section."""
    from socialsell.demo import run_demo

    lines: list[str] = []
    folder = run_demo(tmp_path / "demo", days=2, pm=pm, echo=lines.append)
    out = "\n".join(lines)
    assert "@nora_sdr never engaged with our posts but asked in public" in out
    assert "because: listening 'buyers' matched follow-ups: \"Any tool that turns LinkedIn comments" in out
    heard = out.split("What listening heard", 1)[1]
    assert "competitor" in heard and "@lina.growth" in heard
    with closing(sqlite3.connect(folder / "socialsell.db")) as db:
        handles = {h for (h,) in db.execute("SELECT h.handle FROM handles h JOIN engagements e ON e.handle_id = h.id "
                                             "WHERE e.kind != 'signal'")}
        (owner,) = db.execute("SELECT t.owner FROM signals s JOIN tasks t ON t.id = s.task_id "
                              "WHERE s.handle = '@nora_sdr' LIMIT 1").fetchone()
    assert "@nora_sdr" not in handles and owner


def test_signals_never_import_a_network_library_or_the_scheduler(listening, cli):
    import os
    import subprocess
    import sys

    cli("signals")
    code = ("import sys\nfrom socialsell.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "heavy = sorted(m for m in ('tweepy', 'linkedin_v2', 'atproto', 'httpx', 'apscheduler', 'requests') if m in sys.modules)\n"
            "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n")
    for args in (["signals", "--json"], ["signals"]):
        result = subprocess.run([sys.executable, "-c", code, "--config", str(listening), *args], capture_output=True,
                                text=True, timeout=60, env={**os.environ, "SOCIALSELL_NO_KEYRING": "1"})
        assert result.returncode == 0, result.stderr
        assert "HEAVY=\n" in result.stderr, f"{args}: {result.stderr}"
