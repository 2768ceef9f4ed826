"""Read-only commands on a big workspace, against the floor ``python -c "import click, sqlalchemy"``.

Targets (docs/architecture.md "Targets", issue 14): on 100k engagements, 20k contacts, 5k open
tasks, ``tasks --json``, ``contacts --json`` and ``queue --json`` take at most 1.3x the floor, the
human ``tasks`` table 1.5x; the imports ``tasks --json`` adds to the floor's are at most half the
baseline's (main before issue 14). ``post list --json`` and ``tasks --json --limit 0`` (all 2,500
rows) are given for context. Each figure is one line and one JSON line (common.figure).

    .venv/bin/python bench/bench_read.py [--runs 7] [--engagements 100000] [--contacts 20000]
                                         [--tasks 5000] [--posts 500] [--keep DIR] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BIN,
    NOW,
    PYTHON,
    ROOT,
    add_workspace_options,
    bulk_insert,
    clean_env,
    figure,
    make_workspace,
    paired_ratios,
    timed,
    workspace_folder,
)

#: ratio to the floor (issue 14): the JSON lists and the calendar at 1.3, the rich table at 1.5
TARGETS = {"tasks --json": 1.3, "contacts --json": 1.3, "queue --json": 1.3, "tasks (table)": 1.5}
HEAVY = ("tweepy", "linkedin_v2", "apscheduler")
KINDS = ["like"] * 50 + ["repost"] * 15 + ["reply"] * 15 + ["comment"] * 10 + ["mention"] * 5 + ["quote"] * 3 + ["follow"] * 2
COUNTRIES = ["Germany", "France", "UK", "Sweden", "Singapore", "Spain", "USA", "Brazil", "Japan", "Ireland"]
HEADLINES = ["VP Sales at Acme", "Head of Growth", "Engineer", "Founder, Widgets Inc", "Marketing Director", "Student"]


def populate(app, n_engagements: int, n_contacts: int, n_tasks: int, n_posts: int, seed: int = 7) -> dict[str, int]:
    """Rows straight into the tables with Core bulk inserts (setup, not measured)."""
    from sqlalchemy import func, select

    from socialsell.db import schema as t

    rnd = random.Random(seed)
    account_id = app.account_id("sandbox")
    reps = [r.name for r in app.workspace.team] or ["alice"]
    n_tasks = min(n_tasks, n_contacts)
    n_done = min(n_tasks // 2, n_contacts - n_tasks)  # closed tasks too: the index must skip them
    task_contacts = rnd.sample(range(1, n_contacts + 1), n_tasks + n_done)
    open_owner = {cid: reps[i % len(reps)] for i, cid in enumerate(task_contacts[:n_tasks])}

    contacts, handles = [], []
    for cid in range(1, n_contacts + 1):
        first = NOW - timedelta(days=rnd.uniform(1, 90))
        contacts.append({
            "id": cid, "display_name": f"Person {cid}", "headline": rnd.choice(HEADLINES),
            "company": f"Company {cid % 3000}", "location": rnd.choice(COUNTRIES),
            "stage": "lead" if cid in open_owner else "engaged", "owner": open_owner.get(cid),
            "score": round(rnd.uniform(0, 40), 2), "score_explained": [["like on sandbox", 1.0]],
            "first_seen_at": first, "last_seen_at": NOW - timedelta(hours=rnd.uniform(0, 72)), "updated_at": NOW,
        })
        handles.append({"id": cid, "contact_id": cid, "channel": "sandbox", "handle": f"@person{cid}",
                        "remote_user_id": str(1_000_000 + cid), "name": f"Person {cid}",
                        "profile_url": f"https://sandbox.example/@person{cid}", "headline": contacts[-1]["headline"],
                        "followers": rnd.randint(0, 5000)})

    posts, deliveries = [], []
    published = []
    for pid in range(1, n_posts + 1):
        is_published = pid <= n_posts * 6 // 10
        due = NOW - timedelta(days=rnd.uniform(0, 30)) if is_published else NOW + timedelta(days=rnd.uniform(0, 21))
        text = f"Post {pid}: how we cut onboarding time in half. #growth https://example.com/p/{pid}"
        posts.append({"id": pid, "text": text, "author": "morgan", "evergreen": False,
                      "created_at": due - timedelta(days=1), "updated_at": due - timedelta(days=1)})
        deliveries.append({
            "id": pid, "post_id": pid, "account_id": account_id, "text": text,
            "status": "published" if is_published else "scheduled", "due_at": due, "attempts": 1 if is_published else 0,
            "remote_id": f"r{pid}" if is_published else None,
            "remote_url": f"https://sandbox.example/p/r{pid}" if is_published else None,
            "published_at": due if is_published else None, "updated_at": due,
        })
        if is_published:
            published.append(pid)

    tasks = []
    task_of = {}
    for i, cid in enumerate(task_contacts):
        tid = i + 1
        is_open = cid in open_owner
        due = NOW + timedelta(hours=rnd.uniform(-48, 48))
        tasks.append({
            "id": tid, "contact_id": cid, "owner": open_owner.get(cid, reps[i % len(reps)]),
            "status": "open" if is_open else "done", "priority": rnd.randint(1, 4), "score": round(rnd.uniform(5, 40), 2),
            "reason": "reply: \"interesting, what does it cost for 20 seats?\"", "intent": rnd.random() < 0.2,
            "due_at": due, "first_engagement_id": None, "last_engagement_at": NOW - timedelta(hours=rnd.uniform(0, 72)),
            "outcome": None if is_open else "replied", "closed_by": None if is_open else open_owner.get(cid, reps[0]),
            "closed_at": None if is_open else NOW - timedelta(days=1), "created_at": due - timedelta(hours=4), "updated_at": NOW,
        })
        if is_open:
            task_of[cid] = tid

    engagements = []
    for eid in range(1, n_engagements + 1):
        cid = rnd.randint(1, n_contacts)
        kind = rnd.choice(KINDS)
        pid = rnd.choice(published) if published and kind != "mention" else None
        text = f"great post, what is the pricing for team {eid}?" if kind in ("reply", "comment", "quote", "mention") else None
        engagements.append({
            "id": eid, "account_id": account_id, "external_id": f"e{eid}", "kind": kind, "contact_id": cid, "handle_id": cid,
            "delivery_id": pid, "task_id": task_of.get(cid), "text": text,
            "url": f"https://sandbox.example/e/{eid}", "post_remote_id": f"r{pid}" if pid else None, "in_reply_to": None,
            "occurred_at": NOW - timedelta(minutes=rnd.uniform(0, 60 * 24 * 60)), "ingested_at": NOW,
            "points": 1.0, "ignored": None, "raw": {"reasons": []},
        })

    with app.db.write() as conn:
        for table, rows in ((t.contacts, contacts), (t.handles, handles), (t.posts, posts), (t.deliveries, deliveries),
                            (t.tasks, tasks), (t.engagements, engagements)):
            bulk_insert(conn, table, rows)
    with app.db.write() as conn:
        conn.exec_driver_sql("ANALYZE")
    with app.db.read() as conn:
        return {name: conn.execute(select(func.count()).select_from(table)).scalar_one() for name, table in (
            ("engagements", t.engagements), ("contacts", t.contacts), ("posts", t.posts),
            ("open tasks", t.tasks), ("alice's open tasks", t.tasks))} | {
            "open tasks": conn.execute(select(func.count()).where(t.tasks.c.status == "open")).scalar_one(),
            "alice's open tasks": conn.execute(select(func.count()).where(
                t.tasks.c.status == "open", t.tasks.c.owner == "alice")).scalar_one(),
        }


IMPORT_CHECK = """
import io, sys, contextlib
from socialsell.cli import main
out = io.StringIO()
try:
    with contextlib.redirect_stdout(out):
        main(sys.argv[1:])
except SystemExit as e:
    if e.code:
        raise
heavy = %r
loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy)
print(','.join(sorted({m.split('.')[0] for m in loaded})) or 'none')
"""


def heavy_imports(argv: list[str]) -> str:
    """Which of the heavy network/scheduler libraries a command imports, run in its own process."""
    proc = subprocess.run([PYTHON, "-c", IMPORT_CHECK % (HEAVY,), *argv], capture_output=True, text=True, env=clean_env())
    if proc.returncode != 0:
        raise SystemExit(f"import check failed: {proc.stderr[-2000:]}")
    return proc.stdout.strip().splitlines()[-1]


def import_self_us(argv: list[str], env: dict[str, str], cwd: str | None = None) -> dict[str, int]:
    """``-X importtime``: each imported module's own (self) microseconds, one run. ``cwd``: where
    it runs; ``-m socialsell`` imports the socialsell of the current folder first, so a baseline
    checkout is measured from its own folder (from this one, PYTHONPATH would lose to it)."""
    proc = subprocess.run([PYTHON, "-X", "importtime", *argv], capture_output=True, text=True, env=env, cwd=cwd)
    times = {}
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            self_us, _cumulative, name = line.removeprefix("import time:").split("|")
            times[name.strip()] = int(self_us)
    return times


def imports_over_floor(argv: list[str], runs: int, env: dict[str, str],
                       cwd: str | None = None) -> tuple[float, list[tuple[float, str]]]:
    """The import time a command adds to the floor's (``import click, sqlalchemy``): the self
    times of the modules the floor does not import, each the minimum of ``runs`` runs (import
    times only grow with noise). Returns (ms, the slowest modules as (ms, name))."""
    floor = set(import_self_us(["-c", "import click, sqlalchemy"], env))
    samples = [import_self_us(argv, env, cwd) for _ in range(runs)]
    best = {m: min(s.get(m, 10**9) for s in samples) for m in samples[0] if m not in floor}
    slowest = sorted(((us / 1000, m) for m, us in best.items()), reverse=True)[:8]
    return sum(best.values()) / 1000, slowest


#: imports over the floor of `tasks --json` on main before issue 14 (44c0441), measured by
#: imports_over_floor with bytecode cached (min of 5; load average 2.5). Pass --baseline DIR, a
#: checkout of that commit, to measure it again in the same run instead.
BASELINE_IMPORT_MS = 47.4


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7, help="timed runs per command (median)")
    add_workspace_options(ap)
    ap.add_argument("--baseline", metavar="DIR", help="a checkout of the baseline commit: measure its imports too")
    args = ap.parse_args()

    with workspace_folder(args) as folder:
        if args.keep and (folder / "socialsell.db").exists():
            print(f"workspace {folder}: kept from an earlier run (--keep)")
        else:
            app = make_workspace(folder)
            secs, counts = timed(lambda: populate(app, args.engagements, args.contacts, args.tasks, args.posts))
            app.close()
            print(f"workspace {folder}: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + f" (setup {secs:.1f} s)")
        missed = time_commands(folder, args.runs, args.baseline)
        missed += check_imports(folder, args.runs, args.baseline)
        return 1 if missed else 0


def time_commands(folder: Path, runs: int, baseline: str | None = None) -> list[str]:
    """Each read command against the floor, run round-robin; returns the names that missed.
    With ``baseline`` (a checkout of another commit), its ``tasks --json`` and table run in the
    same rounds, for a paired before/after."""
    cli = str(BIN / "socialsell")
    base = [cli, "--config", str(folder)]
    before = ["env", "PYTHONPATH=" + os.pathsep.join([baseline, str(Path(baseline) / "plugins")])] if baseline else []
    commands = {
        "floor": [PYTHON, "-c", "import click, sqlalchemy"],
        "tasks --json": [*base, "--as", "alice", "tasks", "--json"],
        "contacts --json": [*base, "contacts", "--json"],
        "queue --json": [*base, "queue", "--json"],
        "tasks (table)": [*base, "--as", "alice", "tasks"],
        "post list --json": [*base, "post", "list", "--json"],
        "tasks --json --limit 0": [*base, "--as", "alice", "tasks", "--json", "--limit", "0"],
    }
    if baseline:
        commands["baseline: tasks --json"] = [*before, *base, "--as", "alice", "tasks", "--json"]
        commands["baseline: tasks (table)"] = [*before, *base, "--as", "alice", "tasks"]
    results = paired_ratios(commands, runs)
    floor, _ = results.pop("floor")
    figure("read", "floor: python -c 'import click, sqlalchemy'", floor, "ms", runs=runs)
    missed = []
    for name, (ms, ratio) in results.items():
        target = TARGETS.get(name)
        ok = None if target is None else ratio <= target
        figure("read", name, ms, "ms", floor=floor, ratio=ratio, target=f"<= {target}" if target else None,
               ok=ok, runs=runs, note="median of the rounds' ratios" if target else
               "for context (no target); median of the rounds' ratios")
        if ok is False:
            missed.append(name)
    for name in ("tasks --json", "tasks (table)"):
        if f"baseline: {name}" in results:
            now, then = results[name][1], results[f"baseline: {name}"][1]
            figure("read", f"{name}: this commit / the baseline", now / then, "x", ratio=now / then,
                   note="ratios to the same rounds' floor; below 1 is faster")
    return missed


def check_imports(folder: Path, runs: int, baseline: str | None) -> list[str]:
    """Invariant 7 (no network library or scheduler on a read command), and the imports
    `tasks --json` adds to the floor against the baseline's (target: at least halved)."""
    missed = []
    argv = ["--config", str(folder), "--as", "alice", "tasks", "--json"]
    for name, args in (("tasks --json", argv), ("queue --json", ["--config", str(folder), "queue", "--json"]),
                       ("post list --json", ["--config", str(folder), "post", "list", "--json"])):
        loaded = heavy_imports(args)
        n = 0 if loaded == "none" else len(loaded.split(","))
        figure("read", f"{name}: modules of {', '.join(HEAVY)} imported", n, "modules", target="= 0", ok=n == 0,
               note=loaded)
        if n:
            missed.append(f"{name} imports")
    env = clean_env()
    ms, slowest = imports_over_floor(["-m", "socialsell", *argv], max(runs, 9), env, cwd=str(ROOT))
    base_ms = BASELINE_IMPORT_MS
    if baseline:
        base_env = clean_env(PYTHONPATH=os.pathsep.join([baseline, str(Path(baseline) / "plugins")]))
        base_ms, _ = imports_over_floor(["-m", "socialsell", *argv], max(runs, 9), base_env, cwd=baseline)
    ok = ms <= base_ms / 2
    figure("read", "tasks --json: imports over the floor", ms, "ms", floor=base_ms, ratio=ms / base_ms,
           target="<= 0.5 (the baseline's imports, halved)", ok=ok, runs=max(runs, 9),
           note="floor here = the baseline commit's imports over the floor; slowest: "
                + ", ".join(f"{m} {t:.1f}" for t, m in slowest[:5]))
    return [] if ok else [*missed, "imports"]


if __name__ == "__main__":
    sys.exit(main())
