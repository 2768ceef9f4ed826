"""``socialsell report --format json`` on a big workspace, against the floor
``python -c "import click, sqlalchemy"``.

Target (docs/reports.md "Speed"): on 100k engagements, 20k contacts and 5k open tasks (the
workspace of bench_read.py, plus post metrics, won follow-ups, deals with their posts and reps'
insights, so every section has work to do), at most 2x the floor: the median of the rounds'
ratios, each round running the floor and the report one after the other (paired, so a burst of
load on a shared machine moves both sides of a ratio). The figure is reported the way
bench/common.py reports every figure (a human line and a JSON line).

    .venv/bin/python bench/bench_report.py [--runs 5] [--engagements 100000] [--contacts 20000]
                                           [--tasks 5000] [--posts 500] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from bench_read import populate  # noqa: E402
from common import (  # noqa: E402
    BIN,
    NOW,
    PYTHON,
    add_workspace_options,
    bulk_insert,
    clean_env,
    make_workspace,
    timed,
    verdict,
    workspace_folder,
)

TARGET = 2.0
#: the report's period: the eight weeks before the generated data's "now"
PERIOD = ["--since", (NOW - timedelta(weeks=8)).date().isoformat(), "--until", NOW.date().isoformat()]


def add_report_rows(app, n_deals: int = 300, n_insights: int = 1000, seed: int = 11) -> dict[str, int]:
    """Metrics for every published post, won follow-ups, deals with their posts, insights (setup only)."""
    from sqlalchemy import select, update

    from socialsell.db import schema as t

    rnd = random.Random(seed)
    with app.db.read() as conn:
        published = conn.execute(select(t.deliveries.c.id, t.deliveries.c.post_id, t.deliveries.c.published_at)
                                 .where(t.deliveries.c.status == "published")).all()
        done = conn.execute(select(t.tasks.c.id, t.tasks.c.contact_id, t.tasks.c.owner)
                            .where(t.tasks.c.status == "done")).all()
    metrics = [{"delivery_id": d, "fetched_at": at + timedelta(hours=h), "impressions": rnd.randint(500, 20_000),
                "reach": rnd.randint(300, 12_000), "clicks": rnd.randint(0, 300)} for d, _, at in published for h in (1, 24)]
    won = rnd.sample(done, min(len(done), n_deals * 2))
    deals, deal_posts = [], []
    for i, (task_id, contact_id, owner) in enumerate(won[n_deals:], start=1):  # half as deals, half as won follow-ups
        closed = NOW - timedelta(days=rnd.uniform(0, 50))
        deals.append({"id": i, "contact_id": contact_id, "owner": owner, "title": f"Deal {i}",
                      "amount": rnd.randint(1000, 20_000), "stage": rnd.choice(["won", "won", "lost", "proposal"]),
                      "opened_at": closed - timedelta(days=10), "closed_at": closed, "task_id": task_id,
                      "source": rnd.choice(["socialsell", "hubspot"]), "updated_at": closed})
        for pos, (_, post, _) in enumerate(rnd.sample(published, 3), start=1):
            deal_posts.append({"deal_id": i, "post_id": post, "position": pos, "first_touch_at": closed - timedelta(days=20),
                               "last_touch_at": closed - timedelta(days=11), "touches": 2})
    notes = [{"contact_id": c, "task_id": tk, "author": o, "kind": "insight",
              "text": rnd.choice(["pricing objection", "needs SSO", "asked about the API", "too expensive"]),
              "created_at": NOW - timedelta(days=rnd.uniform(0, 50))} for tk, c, o in rnd.sample(done, min(len(done), n_insights))]
    with app.db.write() as conn:
        # populate() writes tasks as rows, not through ingest: give them the first-touch deadline
        # ingest sets (their due time: none has a next step), as migration 0005 does
        conn.execute(update(t.tasks).where(t.tasks.c.sla_due_at.is_(None)).values(sla_due_at=t.tasks.c.due_at))
        bulk_insert(conn, t.post_metrics, metrics)
        bulk_insert(conn, t.deals, deals)
        bulk_insert(conn, t.deal_posts, deal_posts)
        bulk_insert(conn, t.notes, notes)
        for task_id, _, _ in won[:n_deals]:
            conn.execute(update(t.tasks).where(t.tasks.c.id == task_id).values(
                outcome="won", amount=rnd.randint(1000, 20_000), closed_at=NOW - timedelta(days=rnd.uniform(0, 50))))
        conn.exec_driver_sql("ANALYZE")
    return {"post metrics": len(metrics), "deals": len(deals), "won follow-ups": n_deals, "insights": len(notes)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="timed runs per command (median)")
    add_workspace_options(ap)
    args = ap.parse_args()

    with workspace_folder(args) as folder:
        app = make_workspace(folder)
        secs, counts = timed(lambda: populate(app, args.engagements, args.contacts, args.tasks, args.posts)
                             | add_report_rows(app))
        app.close()
        print(f"workspace {folder}: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + f" (setup {secs:.1f} s)")
        argv = [str(BIN / "socialsell"), "--config", str(folder), "report", *PERIOD, "--format", "json"]
        check = subprocess.run(argv, capture_output=True, text=True, env=clean_env())
        if check.returncode != 0:
            raise SystemExit(f"report failed: {check.stderr[-2000:]}")
        rows = len(json.loads(check.stdout))
        print(f"report --format json: {len(check.stdout) // 1024} KB, {rows} rows")
        commands = {"floor": [PYTHON, "-c", "import click, sqlalchemy"], "report --format json": argv}
        ms, ratio, floor = _paired(commands, args.runs)
        ok = ratio <= TARGET
        _figure("report", "report --format json", ms, "ms", floor=floor, ratio=ratio, target=f"<= {TARGET}", ok=ok,
                runs=args.runs, note="median of the rounds' ratios (each round runs the floor and the report)")
        return 0 if ok else 1


def _paired(commands: dict[str, list[str]], runs: int) -> tuple[float, float, float]:
    """(report ms, ratio, floor ms): the paired medians of bench/common.py (``paired_ratios``,
    each round's ratio taken within the round), or the same computed here where common.py does
    not have it yet."""
    if hasattr(common, "paired_ratios"):
        results = common.paired_ratios(commands, runs)
        (ms, ratio), (floor, _) = results["report --format json"], results["floor"]
        return ms, ratio, floor
    import statistics

    for argv in commands.values():
        common.run_ms(argv)  # warm-up: page cache, bytecode
    rounds = [(common.run_ms(commands["floor"]), common.run_ms(commands["report --format json"])) for _ in range(runs)]
    floor, ms = (statistics.median(x) for x in zip(*rounds, strict=True))
    return ms, statistics.median(r / f for f, r in rounds), floor


def _figure(bench: str, name: str, value: float, unit: str, **kw: object) -> None:
    """One figure: bench/common.py's ``figure`` (a human line and a JSON line) where it exists."""
    if hasattr(common, "figure"):
        common.figure(bench, name, value, unit, **kw)
        return
    print(f"{name}: {value:.0f} {unit}, floor {kw['floor']:.0f} {unit}, ratio {kw['ratio']:.2f} "
          f"(target {kw['target']}) {verdict(bool(kw['ok']))}; {kw['note']}")
    print(json.dumps({"bench": bench, "figure": name, "value": round(value, 3), "unit": unit, **kw,
                      "load": [round(x, 2) for x in os.getloadavg()]}))

if __name__ == "__main__":
    sys.exit(main())
