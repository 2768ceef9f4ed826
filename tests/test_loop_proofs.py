"""Proofs about the scheduler loop: crash-safe polling (invariant 2), daylight-saving changes and
time zones with the controlled clock (invariant 6), the jobs and what edits do to them, and the
grace window (invariant 1: a post is never silently lost).

The crash test is real: a separate process is killed (``os._exit``) after the channel answered
and the rows were written, before the transaction commits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from socialsell import hookimpl
from socialsell.db import schema as t
from socialsell.loop.polling import poll_account
from socialsell.loop.publishing import publish_due
from socialsell.loop.worker import Worker, build_jobs, run_job, run_once
from socialsell.marketing.posts import cancel_post, create_post, edit_post, get_post
from socialsell.timeparse import parse_slot_rule, parse_when, to_utc, upcoming_slots

BERLIN = ZoneInfo("Europe/Berlin")
D = t.deliveries




def _quiet_sandbox(workspace: Path) -> None:
    """No simulated audience: only the engagements a test injects exist."""
    text_ = workspace.read_text()
    workspace.write_text(text_.replace('poll_interval = "1m"\n', 'poll_interval = "1m"\naudience = false\n', 1))


def _set_loop(workspace: Path, **values: str) -> None:
    text_ = workspace.read_text()
    for key, value in values.items():
        if f"\n{key} = " in text_.split("[loop]", 1)[1]:
            head, loop = text_.split("[loop]", 1)
            lines = [f'{key} = "{value}"' if line.startswith(f"{key} = ") else line for line in loop.split("\n")]
            text_ = head + "[loop]" + "\n".join(lines)
        else:
            text_ = text_.replace("[loop]\n", f'[loop]\n{key} = "{value}"\n', 1)
    workspace.write_text(text_)


def _timeline(app) -> list[dict]:
    with app.channel("sandbox").state(write=False) as s:
        return [p for p in s["posts"] if p.get("reply_to") is None]


def _deliveries(app) -> dict[int, dict]:
    with app.db.read() as conn:
        return {r["post_id"]: dict(r) for r in conn.execute(select(D)).mappings()}


# --- (d) a crash between fetching engagements and committing ------------------------------------

ENGAGERS = [("@ada_cto", "reply", "What is your pricing for 50 seats?"),
            ("@bo_founder", "reply", "Can we get a demo next week?"),
            ("@cy_head", "comment", "Interesting - what does the pricing look like?"),
            ("@di_viewer", "like", None)]


def _inject(app, rows=ENGAGERS) -> list[str]:
    channel = app.channel("sandbox")
    return [channel.inject(post_id=None, kind=kind, handle=h, text=txt, headline="VP Sales" if txt else "Student")
            for h, kind, txt in rows]


def _ingested(app) -> dict:
    aid = app.account_id("sandbox")
    with app.db.read() as conn:
        engagements = Counter((r.external_id, r.kind) for r in conn.execute(
            select(t.engagements.c.external_id, t.engagements.c.kind).where(t.engagements.c.account_id == aid)))
        cursor = conn.execute(select(t.cursors.c.value).where(t.cursors.c.account_id == aid)).scalar()
        tasks = Counter(r for (r,) in conn.execute(select(t.tasks.c.contact_id)))
        contacts = conn.execute(select(func.count()).select_from(t.contacts)).scalar()
        handles = conn.execute(select(func.count()).select_from(t.handles)).scalar()
        last_poll = conn.execute(select(t.accounts.c.last_poll_at).where(t.accounts.c.id == aid)).scalar()
    return {"engagements": engagements, "cursor": cursor, "tasks": tasks, "contacts": contacts,
            "handles": handles, "last_poll_at": last_poll}


def _same(a: dict, b: dict) -> bool:
    """The same rows (the time of the last poll aside)."""
    return {k: v for k, v in a.items() if k != "last_poll_at"} == {k: v for k, v in b.items() if k != "last_poll_at"}


def _assert_each_once(app, ids: list[str]) -> dict:
    state = _ingested(app)
    assert sorted(e for e, _ in state["engagements"]) == sorted(ids), "missing or extra engagements"
    assert set(state["engagements"].values()) == {1}, f"stored twice: {state['engagements']}"
    assert state["cursor"] is not None and json.loads(state["cursor"])["inbox"] == len(ids)
    assert state["tasks"] and set(state["tasks"].values()) == {1}, f"two tasks for one contact: {state['tasks']}"
    return state


HARNESS = textwrap.dedent('''
    """Poll the sandbox account once in this process. With ``crash``: die (os._exit(9)) at the
    commit of the transaction that wrote the engagements and the cursor, before it commits."""
    import json, os, sys
    from sqlalchemy import event
    from socialsell.app import App
    from socialsell.loop.worker import Worker
    from socialsell.loop.polling import poll_account

    config, mode = sys.argv[1], sys.argv[2]
    app = App.load(config, os.environ.get("SOCIALSELL_DB"))
    channel = app.channel("sandbox")
    fetched = []
    real_fetch = channel.fetch_engagements

    def fetch(cursor, posts):  # the channel's answer, as it was: we only note that it came back
        out = real_fetch(cursor, posts)
        fetched.append(len(out[0]))
        return out

    channel.fetch_engagements = fetch
    written = set()
    if mode == "crash":
        def after_execute(conn, cursor, statement, *args):  # Core and driver-level SQL alike
            sql = statement.lstrip().upper()
            for table in ("ENGAGEMENTS", "CURSORS", "TASKS"):
                if sql.startswith(f"INSERT INTO {table}"):
                    written.add(table.lower())

        def commit(conn):
            if fetched and written:
                sys.stderr.write(json.dumps({"killed_at": "commit", "fetched": fetched[0],
                                             "written": sorted(written)}) + "\\n")
                sys.stderr.flush()
                os._exit(9)

        event.listen(app.db.engine, "after_cursor_execute", after_execute)
        event.listen(app.db.engine, "commit", commit)
    report = poll_account(app, "sandbox", Worker(app).id)
    print(json.dumps({"fetched": report.fetched, "new": report.new, "tasks": report.tasks_created,
                      "skipped": report.skipped, "error": report.error}))
''')


def _harness(tmp: Path, workspace: Path, mode: str, db_url: str | None) -> subprocess.CompletedProcess:
    script = tmp / "poll_harness.py"
    script.write_text(HARNESS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALSELL_")}
    env["SOCIALSELL_NO_KEYRING"] = "1"
    if db_url:
        env["SOCIALSELL_DB"] = db_url
    return subprocess.run([sys.executable, str(script), str(workspace), mode], env=env, capture_output=True,
                          text=True, timeout=60)


def test_poll_killed_between_fetch_and_commit_loses_and_doubles_nothing(workspace, make_app, db_url, tmp_path):
    _quiet_sandbox(workspace)
    app = make_app(db_url)
    app.account_ids()
    ids = _inject(app)

    crashed = _harness(tmp_path, workspace, "crash", db_url)
    assert crashed.returncode == 9, crashed.stderr[-3000:]
    kill = json.loads(crashed.stderr.strip().splitlines()[-1])
    assert kill["fetched"] == len(ids)
    assert {"engagements", "cursors", "tasks"} <= set(kill["written"])  # the rows were written, then the process died
    state = _ingested(app)
    assert state["engagements"] == Counter() and state["cursor"] is None and state["tasks"] == Counter()
    assert state["contacts"] == 0 and state["handles"] == 0 and state["last_poll_at"] is None

    # a fresh process: the dead one's lease is taken over at once, the old cursor re-reads everything
    again = _harness(tmp_path, workspace, "poll", db_url)
    assert again.returncode == 0, again.stderr[-3000:]
    report = json.loads(again.stdout.strip().splitlines()[-1])
    assert report["skipped"] is None and report["error"] is None
    assert report["fetched"] == len(ids) and report["new"] == len(ids)
    first = _assert_each_once(app, ids)
    assert report["tasks"] == len(first["tasks"]) == 3  # the three who asked; the lone like opens none

    # and once more: nothing new, nothing doubled
    third = _harness(tmp_path, workspace, "poll", db_url)
    assert third.returncode == 0, third.stderr[-3000:]
    assert json.loads(third.stdout.strip().splitlines()[-1])["new"] == 0
    assert _same(_assert_each_once(app, ids), first)


@pytest.mark.parametrize("hook", ["score_engagement", "qualify_lead"])
def test_ingest_transaction_failing_midway_stores_nothing_then_retry_stores_each_once(workspace, make_app, db_url, pm, clock, hook):
    """``score_engagement`` fails after the handles and contacts were inserted; ``qualify_lead``
    after the engagement rows were inserted. Either way the transaction rolls back whole."""
    _quiet_sandbox(workspace)
    fail = {"on": True}

    class Failing:
        if hook == "score_engagement":
            @hookimpl
            def score_engagement(self, engagement, contact):
                if fail["on"]:
                    raise RuntimeError("scoring service down")
                return None
        else:
            @hookimpl
            def qualify_lead(self, contact, score, engagements):
                if fail["on"]:
                    raise RuntimeError("qualifier down")
                return None

    pm.register(Failing(), name="failing-plugin")
    try:
        app = make_app(db_url)
        app.account_ids()
        ids = _inject(app)
        with pytest.raises(RuntimeError, match="down"):
            poll_account(app, "sandbox", "w1")
        state = _ingested(app)
        assert state["engagements"] == Counter() and state["cursor"] is None and state["tasks"] == Counter()
        assert state["contacts"] == 0 and state["handles"] == 0 and state["last_poll_at"] is None
        with app.db.read() as conn:  # the poll lease was given back: the retry is not locked out
            assert conn.execute(select(t.leases)).first() is None

        fail["on"] = False
        clock.advance(minutes=1)
        report = poll_account(app, "sandbox", "w2")
        assert (report.fetched, report.new, report.tasks_created) == (len(ids), len(ids), 3)
        first = _assert_each_once(app, ids)
        clock.advance(minutes=1)
        assert poll_account(app, "sandbox", "w1").new == 0
        assert _same(_assert_each_once(app, ids), first)
    finally:
        pm.unregister(name="failing-plugin")


# --- (e) daylight-saving changes and time zones ---------------------------------------------------


def _at(y, mo, d, h, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def _new_post(cli, *args: str) -> dict:
    result = cli("post", "new", "-c", "sandbox", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)[0]


def _shown(cli, post_id: int) -> str:
    """The ``post list`` line of one post, as a person sees it."""
    result = cli("post", "list", env={"COLUMNS": "200"})  # wide enough that no cell wraps
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip(" │┃|").startswith(f"{post_id} ")]
    assert len(lines) == 1, result.output
    return lines[0]


def _publish_exactly_at(app, clock, due: datetime, delivery_id: int) -> None:
    """Not an hour early, not a second early; at its moment it goes out."""
    for early in (timedelta(hours=1), timedelta(seconds=1)):
        clock.now = due - early
        assert publish_due(app, "w1").published == [], f"published {early} early"
    clock.now = due
    assert publish_due(app, "w1").published == [delivery_id]


@pytest.mark.parametrize(("now", "when", "due_utc", "shown"), [
    (_at(2026, 3, 27, 10), "mon 09:00", _at(2026, 3, 30, 7), "Mon 30 Mar 09:00"),  # Fri CET -> Mon CEST
    (_at(2026, 3, 28, 10), "tomorrow 09:00", _at(2026, 3, 29, 7), "Sun 29 Mar 09:00"),  # the day of the change
    (_at(2026, 3, 28, 8), "+1d", _at(2026, 3, 29, 7), "Sun 29 Mar 09:00"),  # a calendar day: 23 hours
    (_at(2026, 10, 23, 10), "mon 09:00", _at(2026, 10, 26, 8), "Mon 26 Oct 09:00"),  # Fri CEST -> Mon CET
    (_at(2026, 10, 24, 10), "tomorrow 09:00", _at(2026, 10, 25, 8), "Sun 25 Oct 09:00"),
    (_at(2026, 10, 24, 7), "+1d", _at(2026, 10, 25, 8), "Sun 25 Oct 09:00"),  # 25 hours
])
def test_post_at_local_time_across_dst_is_due_and_published_at_that_local_time(cli, make_app, clock, now, when, due_utc, shown):
    app = make_app()
    clock.now = now
    post = _new_post(cli, "--text", f"DST {when} {now:%m-%d}", "--at", when)
    delivery = post["deliveries"][0]
    assert datetime.fromisoformat(delivery["due_at"]) == due_utc
    assert shown in _shown(cli, post["id"])  # shown in Berlin time before ...
    _publish_exactly_at(app, clock, due_utc, delivery["id"])
    line = _shown(cli, post["id"])
    assert "published" in line and shown in line  # ... and after publishing (published_at, local)


def test_times_are_stored_in_utc_and_shown_local(cli, make_app, clock, db_url):
    app = make_app(db_url)
    env = {"SOCIALSELL_DB": db_url} if db_url else None
    clock.now = _at(2026, 3, 27, 10)
    result = cli("post", "new", "-c", "sandbox", "--text", "summer", "--at", "mon 09:00", "--json", env=env)
    assert result.exit_code == 0, result.output
    summer = json.loads(result.output)[0]["id"]
    create_post(app, accounts=["sandbox"], text="winter", at=parse_when("2026-11-02 09:00", clock.now, BERLIN))
    with app.db.read() as conn:
        raw = dict(conn.execute(text("SELECT text, due_at FROM deliveries")).all())
    # naive UTC in the database, on SQLite (text) and PostgreSQL (timestamp) alike
    assert str(raw["summer"]).startswith("2026-03-30 07:00") and str(raw["winter"]).startswith("2026-11-02 08:00")
    listing = cli("post", "list", env={**(env or {}), "COLUMNS": "200"}).output
    assert "Mon 30 Mar 09:00" in listing and "Mon 02 Nov 09:00" in listing
    assert "07:00" not in listing and "08:00" not in listing
    assert get_post(app, summer)["deliveries"][0]["due_at"] == _at(2026, 3, 30, 7)


def test_nonexistent_and_ambiguous_0230_as_timeparse_documents(cli, make_app, clock):
    app = make_app()
    clock.now = _at(2026, 3, 27, 10)
    # 02:30 on 29 March does not exist in Berlin: it moves forward by the gap, to 03:30 CEST
    gap = _new_post(cli, "--text", "in the gap", "--at", "2026-03-29 02:30")
    assert datetime.fromisoformat(gap["deliveries"][0]["due_at"]) == _at(2026, 3, 29, 1, 30)
    assert "Sun 29 Mar 03:30" in _shown(cli, gap["id"])
    _publish_exactly_at(app, clock, _at(2026, 3, 29, 1, 30), gap["deliveries"][0]["id"])

    clock.now = _at(2026, 10, 23, 10)
    # 02:30 on 25 October happens twice: the first occurrence (CEST, 00:30 UTC) is taken
    twice = _new_post(cli, "--text", "twice", "--at", "2026-10-25 02:30")
    assert datetime.fromisoformat(twice["deliveries"][0]["due_at"]) == _at(2026, 10, 25, 0, 30)
    assert "Sun 25 Oct 02:30" in _shown(cli, twice["id"])
    _publish_exactly_at(app, clock, _at(2026, 10, 25, 0, 30), twice["deliveries"][0]["id"])
    # an explicit offset picks the second occurrence
    assert parse_when("2026-10-25T02:30+01:00", clock.now, BERLIN) == _at(2026, 10, 25, 1, 30)
    # a daily 02:30 slot follows the same rules
    rules = [parse_slot_rule("daily 02:30")]
    spring = list(upcoming_slots(rules, _at(2026, 3, 27, 12), BERLIN, limit=3))
    autumn = list(upcoming_slots(rules, _at(2026, 10, 23, 12), BERLIN, limit=3))
    assert spring == [_at(2026, 3, 28, 1, 30), _at(2026, 3, 29, 1, 30), _at(2026, 3, 30, 0, 30)]
    assert autumn == [_at(2026, 10, 24, 0, 30), _at(2026, 10, 25, 0, 30), _at(2026, 10, 26, 1, 30)]
    assert to_utc(datetime(2026, 10, 25, 2, 30), BERLIN) == _at(2026, 10, 25, 0, 30)


@pytest.mark.parametrize(("now", "dues"), [
    (_at(2026, 3, 26, 10), [_at(2026, 3, 27, 8), _at(2026, 3, 30, 7), _at(2026, 3, 31, 7)]),
    (_at(2026, 10, 22, 10), [_at(2026, 10, 23, 7), _at(2026, 10, 26, 8), _at(2026, 10, 27, 8)]),
])
def test_queue_slots_across_dst_stay_at_0900_local(workspace, cli, make_app, clock, now, dues):
    workspace.write_text(workspace.read_text().replace('slots = ["mon-fri 09:00, 12:30, 16:00"]', 'slots = ["mon-fri 09:00"]', 1))
    app = make_app()
    clock.now = now
    posts = [_new_post(cli, "--text", f"slot post {i}", "--queue") for i in range(3)]
    got = [datetime.fromisoformat(p["deliveries"][0]["due_at"]) for p in posts]
    assert got == dues
    for p, due in zip(posts, dues, strict=True):
        assert due.astimezone(BERLIN).strftime("%H:%M") == "09:00"
        assert f"{due.astimezone(BERLIN):%a %d %b} 09:00" in _shown(cli, p["id"])
        _publish_exactly_at(app, clock, due, p["deliveries"][0]["id"])
    assert [p["text"] for p in _timeline(app)] == [f"slot post {i}" for i in range(3)]


def test_weekly_recurring_post_continues_through_the_loop_at_0900_local_across_dst(cli, make_app, clock):
    app = make_app()
    clock.now = _at(2026, 3, 20, 10)  # Friday, CET
    first = _new_post(cli, "--text", "Weekly tip", "--at", "2026-03-23 09:00", "--repeat", "1w", "--count", "2")
    assert datetime.fromisoformat(first["deliveries"][0]["due_at"]) == _at(2026, 3, 23, 8)
    worker = Worker(app, id="w1")
    clock.now = _at(2026, 3, 23, 8)
    assert run_once(app, worker)["publish"].published == [first["deliveries"][0]["id"]]
    run_once(app, worker)  # any later pass of the loop
    with app.db.read() as conn:
        nxt = conn.execute(select(D.c.due_at).join(t.posts, t.posts.c.id == D.c.post_id)
                           .where(t.posts.c.recurrence_parent_id == first["id"])).scalars().all()
    assert nxt == [_at(2026, 3, 30, 7)]  # Monday 09:00 CEST, a week later on the wall clock


# --- jobs --------------------------------------------------------------------------------------


def test_build_jobs_stable_ids_intervals_and_plugin_jobs(workspace, make_app, pm):
    workspace.write_text(workspace.read_text().replace("[[accounts]]\n", textwrap.dedent('''\
        [[accounts]]
        name = "second"
        channel = "sandbox"
        poll_interval = "5m"

        [[accounts]]
        name = "orphan"
        channel = "no-such-network"

        [[accounts]]
        '''), 1))
    ran = []

    class Plugin:
        @hookimpl
        def register_jobs(self, register):
            register("crm-sync", lambda ctx: ran.append(ctx.worker), seconds=120, description="sync the CRM")

    pm.register(Plugin(), name="jobs-plugin")
    try:
        app = make_app()
        # (the built-in hubspot plugin's job is left aside: it idles without a [hubspot] section)
        jobs = [j for j in build_jobs(app) if j.id != "crm:hubspot"]
        # the account whose plugin is missing is left out; the others keep their jobs
        assert [(j.id, j.seconds) for j in jobs] == [
            ("publish", 30), ("poll:second", 300), ("poll:sandbox", 60), ("sla", 60), ("content", 300), ("rescore", 3600),
            ("metrics", 3600), ("digest", 3600), ("crm-sync", 120)]
        assert [j.id for j in build_jobs(app) if j.id != "crm:hubspot"] == [j.id for j in jobs]  # stable
        assert next(j for j in jobs if j.id == "crm-sync").description == "sync the CRM"
        run_job(Worker(app, id="w1"), jobs[-1])
        assert ran == ["w1"]
    finally:
        pm.unregister(name="jobs-plugin")

    class Clash:
        @hookimpl
        def register_jobs(self, register):
            register("publish", lambda ctx: None)

    pm.register(Clash(), name="clash-plugin")
    try:
        with pytest.raises(ValueError, match="publish"):
            build_jobs(make_app())
    finally:
        pm.unregister(name="clash-plugin")


def test_edits_cancels_and_new_times_apply_on_the_next_publish_without_rebuilding(cli, make_app, clock):
    app = make_app()
    worker = Worker(app, id="w1")
    publish = next(j for j in build_jobs(app) if j.id == "publish")  # built once, never again
    start = clock.now
    edited = _new_post(cli, "--text", "first draft", "--at", "+10m")
    cancelled = _new_post(cli, "--text", "never goes out", "--at", "+10m")
    moved_later = _new_post(cli, "--text", "later", "--at", "+10m")
    moved_earlier = create_post(app, accounts=["sandbox"], text="earlier", at=start + timedelta(hours=2))

    assert cli("post", "edit", str(edited["id"]), "--text", "final text").exit_code == 0
    assert cli("post", "cancel", str(cancelled["id"])).exit_code == 0
    assert cli("post", "edit", str(moved_later["id"]), "--at", "+30m").exit_code == 0
    edit_post(app, moved_earlier, at=start + timedelta(minutes=5))

    clock.now = start + timedelta(minutes=5)
    assert run_job(worker, publish).published == [_deliveries(app)[moved_earlier]["id"]]
    clock.now = start + timedelta(minutes=10)
    assert run_job(worker, publish).published == [edited["deliveries"][0]["id"]]
    clock.now = start + timedelta(minutes=29)
    assert not run_job(worker, publish)
    clock.now = start + timedelta(minutes=30)
    assert run_job(worker, publish).published == [moved_later["deliveries"][0]["id"]]
    clock.now = start + timedelta(hours=3)
    assert not run_job(worker, publish)
    assert [p["text"] for p in _timeline(app)] == ["earlier", "final text", "later"]
    assert _deliveries(app)[cancelled["id"]]["status"] == "cancelled"
    with pytest.raises(Exception, match="nothing left to cancel"):
        cancel_post(app, edited["id"])  # published: final


def test_run_once_through_the_cli_publishes_due_posts_and_prints_the_summary(workspace, cli, make_app, clock):
    _quiet_sandbox(workspace)
    app = make_app()
    due = [_new_post(cli, "--text", f"due {i}", "--at", "now") for i in range(2)]
    later = _new_post(cli, "--text", "tomorrow's", "--at", "tomorrow 09:00")
    result = cli("run", "--once")
    assert result.exit_code == 0, result.output
    assert "published 2, failed 0, deferred 0, unknown 0, missed 0" in result.output
    assert "poll:sandbox: 0 new engagements, 0 new tasks, 1 requests" in result.output
    rows = _deliveries(app)
    assert [rows[p["id"]]["status"] for p in due] == ["published", "published"]
    assert rows[later["id"]]["status"] == "scheduled"
    again = cli("run", "--once")
    assert "published 0," in again.output and len(_timeline(app)) == 2


def test_post_missed_beyond_grace_ends_missed_then_retry_sends_it(workspace, cli, make_app, clock):
    _set_loop(workspace, grace="15m")
    app = make_app()
    inside = _new_post(cli, "--text", "still in time", "--at", "+10m")
    beyond = _new_post(cli, "--text", "too late", "--at", "+5m")
    clock.advance(minutes=5 + 15, seconds=1)  # `beyond` is 15m01s late, `inside` 10m01s
    result = cli("run", "--once")
    assert result.exit_code == 1, result.output  # a missed post is a failure of the pass: said, never silent
    assert "published 1, failed 0, deferred 0, unknown 0, missed 1" in result.stdout
    assert [line for line in result.stderr.splitlines() if line.startswith("Error:")] == [f"Error: post {beyond['id']} on sandbox missed: the loop was not running at its time; "
                                          f"15 min late is past the grace window of 15 min (socialsell post retry {beyond['id']} to send it now)"]
    rows = _deliveries(app)
    assert rows[inside["id"]]["status"] == "published" and rows[beyond["id"]]["status"] == "missed"
    assert f"post retry {beyond['id']}" in rows[beyond["id"]]["error"]
    listing = cli("post", "list", "--status", "missed", "--json")
    assert [p["id"] for p in json.loads(listing.output)] == [beyond["id"]]  # visible, not lost
    assert [p["text"] for p in _timeline(app)] == ["still in time"]

    assert "published 0, failed 0, deferred 0, unknown 0, missed 0" in cli("run", "--once").output  # stays missed
    retry = cli("post", "retry", str(beyond["id"]))
    assert retry.exit_code == 0 and "queued 1 delivery" in retry.output
    assert "published 1," in cli("run", "--once").output
    assert _deliveries(app)[beyond["id"]]["status"] == "published"
    assert [p["text"] for p in _timeline(app)] == ["still in time", "too late"]
