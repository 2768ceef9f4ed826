"""``socialsell status``: the JSON shape and values after real loop passes, the human lines,
rate-limited and paused accounts (with their reason, never a secret)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from socialsell import hookimpl
from socialsell.loop.status import ALIVE_SECONDS
from socialsell.loop.worker import Worker, build_jobs, run_job, run_once
from socialsell.marketing.posts import cancel_post, create_post
from socialsell.plugins.channel import ChannelError

SECRET = "sbx-s3cr3t-token-value-42"




@pytest.fixture
def secret_workspace(workspace, monkeypatch):
    """The sandbox account carries a token from the environment, as a real account would."""
    text = workspace.read_text()
    workspace.write_text(text.replace('poll_interval = "1m"\n', 'poll_interval = "1m"\naudience = false\n'
                                      'token = {env = "SANDBOX_TOKEN"}\n', 1))
    monkeypatch.setenv("SANDBOX_TOKEN", SECRET)
    return workspace


def _status(cli) -> dict:
    result = cli("status", "--json")
    assert result.exit_code == 0, result.output
    (info,) = json.loads(result.output)  # a list of one object, like every --json
    assert SECRET not in result.output
    return info


def _human(cli) -> str:
    result = cli("status", env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    return result.output


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def test_status_json_after_a_run_once(secret_workspace, cli, make_app, clock, pm):
    class Failing:
        @hookimpl
        def register_jobs(self, register):
            def boom(ctx):
                raise RuntimeError("crm down\nsecond line")
            register("crm-sync", boom, seconds=600)

    pm.register(Failing(), name="failing-jobs")
    try:
        app = make_app()
        start = clock.now
        due = [create_post(app, accounts=["sandbox"], text=f"due {i}", at=start) for i in range(3)]
        later = [create_post(app, accounts=["sandbox"], text=f"later {i}", at=start + timedelta(hours=i + 1)) for i in range(2)]
        create_post(app, accounts=["sandbox"], text="a draft", at=start + timedelta(days=1), draft=True)
        cancel_post(app, create_post(app, accounts=["sandbox"], text="cancelled", at=start + timedelta(days=1)))
        app.channel("sandbox").queue_fault("reject")  # the first due post fails, with the network's reason

        before = _status(cli)
        assert before["queue"]["depth"] == 5 and before["queue"]["due_now"] == 3 and before["workers"] == []
        assert _t(before["queue"]["next_due_at"]) == start

        worker = Worker(app, id="host:1:w1")
        results = run_once(app, worker)
        assert len(results["publish"].published) == 2 and results["publish"].failed == [due[0]]
        info = _status(cli)
        assert info["queue"] == {
            "depth": 2, "due_now": 0, "next_due_at": info["queue"]["next_due_at"],
            "draft": 1, "approved": 0, "scheduled": 2, "sending": 0, "unknown": 0, "published": 2,
            "failed": 1, "missed": 0, "needs_attention": 0, "cancelled": 1,
        }
        assert _t(info["queue"]["next_due_at"]) == start + timedelta(hours=1)
        assert info["id"] == info["workspace"] == "Test"
        assert info["sqlite_library"] and "sqlite" in info["database"]
        [acc] = info["accounts"]
        assert acc["name"] == "sandbox" and acc["channel"] == "sandbox" and acc["status"] == "active"
        assert acc["paused"] is False and acc["paused_reason"] is None and acc["rate_limited"] is False
        assert acc["rate_limited_until"] is None and acc["error"] is None and acc["last_poll_error"] is None
        assert _t(acc["last_poll_at"]) == start and acc["last_poll_requests"] == 1

        [w] = info["workers"]
        assert w["id"] == "host:1:w1" and _t(w["heartbeat_at"]) == start
        assert w["alive"] is False and _t(w["stopped_at"]) == start  # run --once marks itself stopped
        jobs = {j["id"]: j for j in w["jobs"]}
        expected = {j.id: j.seconds for j in build_jobs(app)}
        assert set(jobs) == set(expected) and "crm-sync" in jobs and "poll:sandbox" in jobs
        for job_id, seconds in expected.items():
            j = jobs[job_id]
            assert j["runs"] == 1 and _t(j["last_run"]) == start, j
            assert _t(j["next_run"]) == start + timedelta(seconds=seconds), j
            assert j["last_error"] == ("RuntimeError: crm down" if job_id == "crm-sync" else None), j

        # a running worker: alive while its heartbeat is fresh, not once it is older than ALIVE_SECONDS
        live = Worker(app, id="host:2:w2")  # another machine's id: judged by its heartbeat alone
        run_job(live, next(j for j in build_jobs(app) if j.id == "publish"))
        live.heartbeat(clock.now)
        clock.advance(seconds=ALIVE_SECONDS - 1)
        workers = {w["id"]: w for w in _status(cli)["workers"]}
        assert workers["host:2:w2"]["alive"] is True and workers["host:1:w1"]["alive"] is False
        assert [j["id"] for j in workers["host:2:w2"]["jobs"]] == ["publish"]
        clock.advance(seconds=2)
        assert _status(cli)["workers"][0]["alive"] is False
        clock.advance(hours=1)
        assert _status(cli)["queue"]["due_now"] == 1 and later
    finally:
        pm.unregister(name="failing-jobs")


def _line(out: str, *words: str) -> str:
    found = [line for line in out.splitlines() if all(w in line for w in words)]
    assert len(found) == 1, (words, out)
    return found[0]


def test_status_human_lines(secret_workspace, cli, make_app, clock):
    app = make_app()
    assert "no worker has run yet: socialsell run" in _human(cli)
    create_post(app, accounts=["sandbox"], text="due", at=clock.now)
    create_post(app, accounts=["sandbox"], text="later", at=clock.now + timedelta(hours=1))
    out = _human(cli)
    assert out.startswith("workspace Test  (sqlite:///") and "sqlite library" in out
    assert "queue: 2 in the queue, 1 due now, next due Mon 23 Nov 09:00:00" in out  # local (Berlin)
    assert "0 sending, 0 unknown, 0 need attention, 0 failed, 0 missed" in out
    assert "never" in _line(out, "sandbox", "active")  # not polled yet
    run_once(app, Worker(app, id="host:1:w1"))
    out = _human(cli)
    assert "queue: 1 in the queue, 0 due now, next due Mon 23 Nov 10:00:00" in out
    account = _line(out, "sandbox", "active")
    assert "Mon 23 Nov 09:00" in account and "│ 1 " in account and "never" not in account  # last poll, 1 request
    # stopped after --once: one line, not a row per job
    jobs = len(build_jobs(app))
    assert _line(out, "host:1:w1") == f"finished host:1:w1 at Mon 23 Nov 09:00:00: {jobs} jobs ran"
    assert "no worker has run yet" not in out and " publish " not in out


def test_status_human_times_are_in_the_workspace_time_zone(secret_workspace, cli, make_app, clock):
    app = make_app()  # Europe/Berlin; the clock is 08:00 UTC = 09:00 local
    create_post(app, accounts=["sandbox"], text="later", at=clock.now + timedelta(hours=1))  # 10:00 local
    run_once(app, Worker(app, id="host:1:w1"))
    out = _human(cli)
    assert "+00:00" not in out
    queue = _line(out, "queue:")
    assert "10:00" in queue and "09:00" not in queue
    account = _line(out, "sandbox", "active")
    assert "09:00" in account and "08:00" not in account
    assert "finished host:1:w1 at Mon 23 Nov 09:00:00" in out  # local
    live = Worker(app, id="host:2:w2")  # a running worker lists its jobs, with their next run
    run_job(live, next(j for j in build_jobs(app) if j.id.startswith("poll:")))
    live.heartbeat(clock.now)
    assert "09:01" in _line(_human(cli), "host:2:w2", " poll:sandbox ")  # next poll, local


def test_rate_limited_and_failing_poll_are_shown(secret_workspace, cli, make_app, clock, monkeypatch):
    app = make_app()
    channel = app.channel("sandbox")

    def broken(cursor, posts):
        channel.request_count += 1
        raise ChannelError("sandbox: 502 bad gateway")

    monkeypatch.setattr(channel, "fetch_engagements", broken)
    run_once(app, Worker(app, id="host:1:w1"))
    [acc] = _status(cli)["accounts"]
    assert acc["last_poll_error"] == acc["error"] == "sandbox: 502 bad gateway"
    assert _t(acc["last_poll_at"]) == clock.now and acc["last_poll_requests"] == 1
    assert acc["paused"] is False and acc["status"] == "active" and acc["rate_limited"] is False
    assert "sandbox: 502 bad gateway" in _human(cli)

    create_post(app, accounts=["sandbox"], text="due", at=clock.now)
    channel.queue_fault("rate_limit")
    results = run_once(app, Worker(app, id="host:1:w1"))
    assert results["poll:sandbox"].skipped.startswith("rate limited until")  # the poll waits it out too
    [acc] = _status(cli)["accounts"]
    assert acc["rate_limited"] is True and _t(acc["rate_limited_until"]) == clock.now + timedelta(seconds=60)
    assert "rate limited until Mon 23 Nov 09:01:00" in _human(cli)
    clock.advance(seconds=61)
    assert _status(cli)["accounts"][0]["rate_limited"] is False


def test_paused_account_shows_its_reason_and_no_secret(secret_workspace, cli, make_app, clock):
    app = make_app()
    assert app.workspace.account("sandbox").settings  # the token is loaded into the account...
    create_post(app, accounts=["sandbox"], text="due", at=clock.now)
    app.channel("sandbox").queue_fault("auth")
    report = run_once(app, Worker(app, id="host:1:w1"))["publish"]
    assert report.deferred and not report.published
    info = _status(cli)  # ...and never shown
    [acc] = info["accounts"]
    assert acc["paused"] is True and acc["status"] == "paused"
    assert acc["paused_reason"] == acc["error"] == "sandbox: token revoked"
    assert info["queue"]["scheduled"] == 1 and info["queue"]["due_now"] == 1  # waiting, not lost
    out = _human(cli)
    assert "paused" in out and "sandbox: token revoked" in out
    # a paused account is neither polled nor published to
    clock.advance(minutes=5)
    results = run_once(app, Worker(app, id="host:1:w1"))
    assert results["poll:sandbox"].skipped == "paused: sandbox: token revoked"
    assert not results["publish"]
