"""Real worker processes: kill -9 while publishing, two workers on one PostgreSQL database,
graceful shutdown on SIGTERM. The only waiting is for the processes themselves."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import insert, select

from socialsell.app import App
from socialsell.db import schema as t

from .conftest import real_now

SOCIALSELL = [sys.executable, "-m", "socialsell"]


def _configure(workspace: Path, *, latency: float = 0.0, audience: bool = False) -> None:
    text = workspace.read_text()
    text = text.replace('poll_interval = "1m"\n', f'poll_interval = "1m"\nlatency = {latency}\naudience = {str(audience).lower()}\n', 1)
    text += 'reconcile_after = "1s"\nbatch = 10\n'
    workspace.write_text(text)


LEDGER_PLUGIN = r'''
import json, os, uuid
from datetime import datetime, UTC
from socialsell import hookimpl
from socialsell.plugins.channel import Capabilities, Channel, Published, RemotePost


class LedgerChannel(Channel):
    # A network that appends every post it receives to a log (O_APPEND + fsync). It never
    # refuses a duplicate, so a double post shows up as two lines; each publish is O(1).
    name = "ledger"
    label = "Ledger"
    max_length = 500
    supports = Capabilities(publish=True)
    timeout = 5.0

    @property
    def path(self):
        return self.account.workspace.state_dir / "ledger.jsonl"

    def publish(self, text, *, media=()):
        remote_id = uuid.uuid4().hex
        line = json.dumps({"id": remote_id, "text": text, "at": datetime.now(UTC).isoformat()}) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return Published(remote_id=remote_id, url=None, published_at=datetime.now(UTC))

    def find_recent_posts(self, since):
        if not self.path.exists():
            return []
        rows = [json.loads(x) for x in self.path.read_text().splitlines() if x]
        return [RemotePost(remote_id=r["id"], text=r["text"], created_at=datetime.fromisoformat(r["at"]))
                for r in rows if datetime.fromisoformat(r["at"]) >= since]


@hookimpl
def register_channels(register):
    register("ledger", LedgerChannel)
'''


def _ledger(workspace: Path) -> list[dict]:
    path = next(iter(workspace.parent.rglob("ledger.jsonl")), None)
    return [json.loads(x) for x in path.read_text().splitlines() if x] if path else []


def _queue(app: App, n: int, prefix: str, account: str = "sandbox") -> None:
    """n posts due now, inserted in bulk (Core), one delivery each. "Now" is the real time: the
    workers are real processes on the real clock (the suite moves the test process's clock)."""
    now = real_now()
    account_id = app.account_id(account)
    with app.db.write() as conn:
        first = conn.execute(select(t.posts.c.id).order_by(t.posts.c.id.desc()).limit(1)).scalar() or 0
        conn.execute(insert(t.posts), [{"text": f"{prefix} {i}", "created_at": now, "updated_at": now} for i in range(n)])
        ids = [r for (r,) in conn.execute(select(t.posts.c.id).where(t.posts.c.id > first).order_by(t.posts.c.id))]
        conn.execute(insert(t.deliveries), [{"post_id": pid, "account_id": account_id, "text": f"{prefix} {i}",
                                             "status": "scheduled", "due_at": now, "attempts": 0, "updated_at": now}
                                            for i, pid in enumerate(ids)])


def _timeline(workspace: Path) -> list[dict]:
    path = workspace.parent / ".socialsell" / "sandbox" / "sandbox.json"
    if not path.exists():
        found = list(workspace.parent.rglob("sandbox/sandbox.json"))
        if not found:
            return []
        path = found[0]
    return [p for p in json.loads(path.read_text())["posts"] if p.get("reply_to") is None]


def _statuses(app: App) -> dict[str, str]:
    with app.db.read() as conn:
        return {text: status for text, status in conn.execute(select(t.deliveries.c.text, t.deliveries.c.status))}


def _env(db_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALSELL_")}
    env["SOCIALSELL_NO_KEYRING"] = "1"
    if db_url:
        env["SOCIALSELL_DB"] = db_url
    return env


def _start(workspace: Path, env: dict[str, str], *extra: str) -> subprocess.Popen:
    if (workspace.parent / "plugins").is_dir():
        env = {**env, "SOCIALSELL_PLUGINS_DIR": str(workspace.parent / "plugins")}
    # logs go to a file: a pipe nobody reads fills up and blocks the worker mid-run
    log = open(workspace.parent / f"worker-{time.monotonic_ns()}.log", "w+")  # noqa: SIM115 - read by _logs
    proc = subprocess.Popen([*SOCIALSELL, "--config", str(workspace), "run", "--log-json", *extra],
                            env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def _logs(proc: subprocess.Popen) -> str:
    proc.log.seek(0)  # type: ignore[attr-defined]
    return proc.log.read()  # type: ignore[attr-defined]


def _assert_exactly_once(app: App, workspace: Path, n: int, timeline: list[dict] | None = None) -> Counter:
    timeline = _timeline(workspace) if timeline is None else timeline
    on_network = Counter(p["text"] for p in timeline)
    doubles = {k: v for k, v in on_network.items() if v > 1}
    assert doubles == {}, f"posted twice: {doubles}"
    statuses = _statuses(app)
    assert len(statuses) == n
    with app.db.read() as conn:
        remote = {text: rid for text, rid in conn.execute(select(t.deliveries.c.text, t.deliveries.c.remote_id)
                                                          .where(t.deliveries.c.status == "published"))}
    for text, status in statuses.items():
        if status == "published":
            assert on_network[text] == 1, text
        else:  # visibly not published, and then certainly not on the network
            assert status in ("failed", "needs_attention"), (text, status)
            assert on_network[text] == 0, text
    assert {p["text"]: p["id"] for p in timeline} == remote
    return Counter(statuses.values())


def test_kill_9_while_publishing_never_doubles_or_loses(workspace, make_app):
    _configure(workspace, latency=0.02)
    app = make_app()
    n = 120
    _queue(app, n, "kill test post")
    rng = random.Random(int(os.environ.get("SOCIALSELL_KILL_SEED", "4")))
    channel = app.channel("sandbox")
    kills = crashes = 0
    for trial in range(18):
        if trial % 3 == 2:
            channel.queue_fault("crash_after_send")  # the process dies between the call and the commit
        before = len(_timeline(workspace))
        proc = _start(workspace, _env())
        deadline = time.monotonic() + 30
        # wait until this worker is publishing, then kill it a random moment later
        while len(_timeline(workspace)) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            time.sleep(rng.uniform(0, 0.15))
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        crashes += proc.returncode == 137
    assert kills >= 12
    # restart and let the loop finish the queue (reconciling what the kills left unknown)
    proc = _start(workspace, _env())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        open_ = [s for s in _statuses(app).values() if s in ("scheduled", "sending", "unknown")]
        if not open_:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == 0, _logs(proc)[-2000:]
    counts = _assert_exactly_once(app, workspace, n)
    assert counts["published"] == n, counts
    print(f"kill trials: {kills} SIGKILL + {crashes} crash_after_send exits; {counts}")


def test_two_workers_on_postgresql_publish_1000_posts_without_doubles(workspace, make_app, pg_url):
    _configure(workspace)
    (workspace.parent / "plugins").mkdir()
    (workspace.parent / "plugins" / "ledger_channel.py").write_text(LEDGER_PLUGIN)
    workspace.write_text(workspace.read_text().replace("[[accounts]]\n", '[[accounts]]\nname = "ledger"\nchannel = "ledger"\n\n[[accounts]]\n', 1))
    app = make_app(pg_url)
    n = 1000
    _queue(app, n, "pg post", account="ledger")
    env = _env(pg_url)
    procs = [_start(workspace, env) for _ in range(2)]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if all(s == "published" for s in _statuses(app).values()):
            break
        assert all(p.poll() is None for p in procs), [_logs(p)[-2000:] for p in procs]
        time.sleep(0.25)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=30)
    logs = [_logs(p) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs[0][-2000:] + logs[1][-2000:]
    counts = _assert_exactly_once(app, workspace, n, _ledger(workspace))
    assert counts["published"] == n
    per_worker = []
    for log in logs:
        events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        per_worker.append(sum(1 for e in events if e.get("event") == "post.published"))
    assert sum(per_worker) == n and min(per_worker) > 0, per_worker  # both worked, no post twice
    # graceful shutdown: workers marked stopped, no claims or leases left behind
    with app.db.read() as conn:
        assert all(r.stopped_at is not None for r in conn.execute(select(t.workers)))
        assert conn.execute(select(t.deliveries.c.id).where(t.deliveries.c.claimed_by.is_not(None))).first() is None
        assert conn.execute(select(t.leases)).first() is None
    print(f"two workers on PostgreSQL: {per_worker} posts each, 0 duplicates")
