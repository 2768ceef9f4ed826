"""Engagements -> contacts and tasks through the real ``ingest()``, against a raw sqlite3 floor.

Target (docs/architecture.md "Targets"): ingest at >= 0.3x the rows/s of a raw ``sqlite3`` ``executemany``
of the same number of engagement rows, in one transaction, into a table of the same shape
(the ``engagements`` table's own DDL and indexes, same pragmas as the product: WAL, synchronous=FULL).

The ingest side runs as the poller does (``socialsell.loop.polling``): batches of ``--batch``
engagements, each ``ingest(app, conn, account, batch, now)`` in its own ``app.db.write()``
transaction, then ``result.fire_hooks(app)`` after the commit.

    .venv/bin/python bench/bench_ingest.py [--rows 20000] [--people 4000] [--batch 500] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import NOW, bulk_insert, make_workspace, timed, verdict  # noqa: E402

TARGET = 0.3
ACCOUNT = "sandbox"
KINDS = ["like"] * 50 + ["repost"] * 15 + ["reply"] * 15 + ["comment"] * 10 + ["mention"] * 5 + ["quote"] * 3 + ["follow"] * 2
COUNTRIES = ["Germany", "France", "UK", "Sweden", "Singapore", "Spain", "USA", "Brazil", "Japan", "Ireland"]
HEADLINES = ["VP Sales at Acme", "Head of Growth", "Engineer", "Founder, Widgets Inc", "Marketing Director", "Student", None]
TEXTS = ["great post!", "what does it cost for 20 seats?", "can I get a demo?", "interesting, how do you measure it?",
         "agreed", "we do the same at our company", "is there a trial?"]
N_POSTS = 50


def make_engagements(n_rows: int, n_people: int, seed: int = 11) -> list:
    """Normalised engagements as a channel returns them (setup, not measured)."""
    from socialsell.plugins.channel import Engagement, Person

    rnd = random.Random(seed)
    people = [Person(handle=f"@person{i}", name=f"Person {i}", external_id=str(500_000 + i),
                     profile_url=f"https://sandbox.example/@person{i}", headline=rnd.choice(HEADLINES),
                     company=f"Company {i % 900}", location=rnd.choice(COUNTRIES), followers=rnd.randint(0, 5000))
              for i in range(n_people)]
    out = []
    for i in range(n_rows):
        kind = rnd.choice(KINDS)
        text = rnd.choice(TEXTS) if kind in ("reply", "comment", "quote", "mention") else None
        post = None if kind in ("mention", "follow") else f"r{rnd.randint(1, N_POSTS)}"
        out.append(Engagement(
            external_id=f"x{i}", kind=kind, person=rnd.choice(people),
            occurred_at=NOW - timedelta(minutes=rnd.uniform(0, 7 * 24 * 60)), text=text,
            url=f"https://sandbox.example/e/{i}", post_remote_id=post, raw={"source": "bench"},
        ))
    return out


def add_published_posts(app) -> None:
    """Our published posts, so engagements link to deliveries as in real use."""
    from socialsell.db import schema as t

    account_id = app.account_id(ACCOUNT)
    posts, deliveries = [], []
    for pid in range(1, N_POSTS + 1):
        at = NOW - timedelta(days=pid % 7, hours=pid)
        posts.append({"id": pid, "text": f"Post {pid}", "author": "morgan", "evergreen": False, "created_at": at, "updated_at": at})
        deliveries.append({"id": pid, "post_id": pid, "account_id": account_id, "text": f"Post {pid}", "status": "published",
                           "due_at": at, "attempts": 1, "remote_id": f"r{pid}", "published_at": at, "updated_at": at})
    with app.db.write() as conn:
        bulk_insert(conn, t.posts, posts)
        bulk_insert(conn, t.deliveries, deliveries)


PHASES = {  # module attribute -> label; wrapped by --phases to attribute the ingest time

    ("socialsell.sales.ingest", "_resolve_merged"): "merge resolution (_resolve_merged)",
    ("socialsell.sales.ingest", "score_lines"): "per-engagement scoring (score_lines)",
    ("socialsell.sales.ingest", "_insert_engagements"): "engagement insert (_insert_engagements)",
    ("socialsell.sales.ingest", "_update_contacts_and_tasks"): "rescore + tasks (_update_contacts_and_tasks)",
    ("socialsell.sales.ingest", "contact_histories"): "  of which history reload (contact_histories)",
    ("socialsell.sales.ingest", "contact_score"): "  of which contact_score",
    ("socialsell.sales.routing", "choose_owner"): "  of which routing.choose_owner",
    ("socialsell.sales.routing", "due_time"): "  of which routing.due_time",
}


def wrap_phases() -> dict[str, float]:
    """Wrap the ingest helpers with timers (seconds per label). Adds a little overhead per call."""
    import importlib
    import time

    spent: dict[str, float] = dict.fromkeys(PHASES.values(), 0.0)
    for (module_name, attr), label in PHASES.items():
        module = importlib.import_module(module_name)
        fn = getattr(module, attr)

        def timed_fn(*a, _fn=fn, _label=label, **kw):
            start = time.perf_counter()
            try:
                return _fn(*a, **kw)
            finally:
                spent[_label] += time.perf_counter() - start

        setattr(module, attr, timed_fn)
    return spent


def run_ingest(app, engagements: list, batch: int) -> dict[str, int]:
    from socialsell.sales.ingest import ingest

    new = tasks = 0
    for i in range(0, len(engagements), batch):
        with app.db.write() as conn:
            result = ingest(app, conn, ACCOUNT, engagements[i:i + batch], NOW)
        result.fire_hooks(app)
        new += len(result.stored)
        tasks += len(result.tasks_created)
    return {"new": new, "tasks_created": tasks}


def floor_rows(engagements: list) -> list[tuple]:
    """The same engagements as the tuples a raw insert would write (built before timing)."""
    rows = []
    for i, e in enumerate(engagements):
        rows.append((1, e.external_id, e.kind, 1 + i % 4000, 1 + i % 4000, None, None, e.text, e.url, e.post_remote_id,
                     e.in_reply_to, e.occurred_at.strftime("%Y-%m-%d %H:%M:%S.%f"), NOW.strftime("%Y-%m-%d %H:%M:%S.%f"),
                     1.0, None, json.dumps({"reasons": [], **e.raw})))
    return rows


def run_floor(path: Path, rows: list[tuple]) -> float:
    """Raw sqlite3: one executemany of every row in one transaction into a table of the same shape."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateIndex, CreateTable

    from socialsell.db import schema as t

    dialect = sqlite_dialect.dialect()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute(str(CreateTable(t.engagements).compile(dialect=dialect)))
    for index in t.engagements.indexes:
        con.execute(str(CreateIndex(index).compile(dialect=dialect)))
    cols = [c.name for c in t.engagements.columns if c.name != "id"]
    sql = f"INSERT INTO engagements ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"

    def insert() -> None:
        con.execute("BEGIN IMMEDIATE")
        con.executemany(sql, rows)
        con.execute("COMMIT")

    secs, _ = timed(insert)
    count = con.execute("SELECT count(*) FROM engagements").fetchone()[0]
    con.close()
    if count != len(rows):
        raise SystemExit(f"floor stored {count} rows, expected {len(rows)}")
    return secs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000, help="engagements to ingest")
    ap.add_argument("--people", type=int, default=4_000, help="distinct people they come from")
    ap.add_argument("--batch", type=int, default=500, help="engagements per ingest() transaction, as a poll")
    ap.add_argument("--profile", action="store_true", help="profile the ingest run (cProfile, top 25 by own time)")
    ap.add_argument("--phases", action="store_true", help="time the main steps of ingest() (wraps its helpers)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="socialsell-bench-") as tmp:
        folder = Path(tmp) / "ws"
        app = make_workspace(folder)
        add_published_posts(app)
        engagements = make_engagements(args.rows, args.people)
        rows = floor_rows(engagements)

        # the floor is short (a few hundred ms): median of 3 fresh databases
        floor_secs = statistics.median(run_floor(Path(tmp) / f"floor{i}.db", rows) for i in range(3))
        floor_rate = len(rows) / floor_secs

        spent = wrap_phases() if args.phases else None
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        secs, counts = timed(lambda: run_ingest(app, engagements, args.batch))
        if profiler:
            profiler.disable()
        rate = args.rows / secs
        ratio = rate / floor_rate

        from sqlalchemy import func, select

        from socialsell.db import schema as t

        with app.db.read() as conn:
            def count(table, *where):
                return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

            stored = count(t.engagements)
            n_contacts, n_handles = count(t.contacts), count(t.handles)
            n_open = count(t.tasks, t.tasks.c.status == "open")
            owners = dict(conn.execute(select(t.tasks.c.owner, func.count()).group_by(t.tasks.c.owner)).all())
            linked = count(t.engagements, t.engagements.c.task_id.is_not(None))
        app.close()

    print(f"{args.rows} engagements from {args.people} people, batches of {args.batch}")
    print(f"floor  sqlite3 executemany, one transaction: {floor_rate:,.0f} rows/s ({floor_secs * 1000:.0f} ms, median of 3)")
    print(f"ingest() as the poller:                    {rate:,.0f} rows/s ({secs * 1000:.0f} ms)")
    print(f"ratio {ratio:.3f} (target >= {TARGET}) {verdict(ratio >= TARGET)}")
    print(f"sanity: {stored} engagements stored ({counts['new']} new), {n_contacts} contacts, {n_handles} handles, "
          f"{n_open} open tasks ({counts['tasks_created']} created; by owner {owners}), {linked} engagements linked to a task")
    ok_sanity = stored == args.rows and 0 < n_contacts == n_handles <= args.people and n_open > 0
    if not ok_sanity:
        print("sanity check FAILED: not every engagement was stored, or no task was opened")
    if spent is not None:
        print("where the ingest time goes (--phases):")
        for label, phase_secs in spent.items():
            print(f"  {label:48s} {phase_secs * 1000:8.0f} ms  {phase_secs / secs:5.1%}")
    if profiler:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return 0 if ratio >= TARGET and ok_sanity else 1


if __name__ == "__main__":
    sys.exit(main())
