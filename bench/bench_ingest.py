"""Engagements -> contacts and tasks through the real ``ingest()``, against a raw executemany floor.

Target (docs/architecture.md "Targets"): ingest at >= 0.3x the rows/s of a raw driver executemany
of the same engagement rows, in one transaction, into a table of the same shape (the
``engagements`` table's own DDL and indexes; on SQLite the product's pragmas: WAL,
synchronous=FULL, the same page cache), at 10k, 100k and 1M engagements from size/5 people, the
ratio flat (within +-20 % of the 100k one), and under 500 MB of peak memory at 1M. Then the same
on PostgreSQL (a throwaway server as tests/conftest.py starts one, or SOCIALSELL_BENCH_POSTGRES:
a server where the bench may create databases), against psycopg's executemany there.

The ingest side runs as the poller does (socialsell/loop/polling.py): batches of ``--batch``
engagements, each ``ingest(app, conn, account, batch, now)`` in its own ``app.db.write()``
transaction, then ``result.fire_hooks(app)`` after the commit. Engagements are generated batch
by batch (a poll brings a batch; nothing holds a million in memory), the floor's rows likewise.
Each size runs in its own process, so its peak memory (``ru_maxrss``) is its own.

    .venv/bin/python bench/bench_ingest.py [--sizes 10000,100000] [--million] [--batch 5000]
        [--no-postgres] [--profile]       # --profile: cProfile of one 100k SQLite run, top 30
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import os
import pstats
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import NOW, PYTHON, ROOT, bulk_insert, figure, verdict  # noqa: E402

TARGET = 0.3
FLAT = 0.2  # each size's ratio within +-20 % of the 100k one
MEMORY_MB = 500
ACCOUNT = "sandbox"
KINDS = ["like"] * 50 + ["repost"] * 15 + ["reply"] * 15 + ["comment"] * 10 + ["mention"] * 5 + ["quote"] * 3 + ["follow"] * 2
COUNTRIES = ["Germany", "France", "UK", "Sweden", "Singapore", "Spain", "USA", "Brazil", "Japan", "Ireland"]
HEADLINES = ["VP Sales at Acme", "Head of Growth", "Engineer", "Founder, Widgets Inc", "Marketing Director", "Student", None]
TEXTS = ["great post!", "what does it cost for 20 seats?", "can I get a demo?", "interesting, how do you measure it?",
         "agreed", "we do the same at our company", "is there a trial?"]
N_POSTS = 50


# --- the data -------------------------------------------------------------------------------------


def engagements(n_rows: int, n_people: int, seed: int = 11) -> Iterator:
    """Normalised engagements as a channel returns them, generated one by one (setup, not timed).
    Person ``p`` is the same every time it appears (derived from ``p``, not stored)."""
    from socialsell.plugins.channel import Engagement, Person

    rnd = random.Random(seed)
    for i in range(n_rows):
        p = rnd.randrange(n_people)
        kind = rnd.choice(KINDS)
        person = Person(handle=f"@person{p}", name=f"Person {p}", external_id=str(500_000 + p),
                        profile_url=f"https://sandbox.example/@person{p}", headline=HEADLINES[p % len(HEADLINES)],
                        company=f"Company {p % 900}", location=COUNTRIES[(p * 7) % len(COUNTRIES)],
                        followers=(p * 7919) % 5000)
        yield Engagement(
            external_id=f"x{i}", kind=kind, person=person,
            occurred_at=NOW - timedelta(minutes=rnd.uniform(0, 7 * 24 * 60)),
            text=rnd.choice(TEXTS) if kind in ("reply", "comment", "quote", "mention") else None,
            url=f"https://sandbox.example/e/{i}", post_remote_id=None if kind in ("mention", "follow") else f"r{rnd.randint(1, N_POSTS)}",
            raw={"source": "bench"},
        )


def floor_rows(n_rows: int, n_people: int, sqlite: bool) -> Iterator[tuple]:
    """The same engagements as the tuples a raw insert writes, converted as the driver stores them."""
    stamp = (lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite else (lambda d: d.replace(tzinfo=None))
    now = stamp(NOW)
    for i, e in enumerate(engagements(n_rows, n_people)):
        yield (1, e.external_id, e.kind, 1 + i % n_people, 1 + i % n_people, None, None, e.text, e.url,
               e.post_remote_id, e.in_reply_to, stamp(e.occurred_at), now, 1.0, None,
               json.dumps({"reasons": [], **e.raw}))


# --- one size, in its own process -----------------------------------------------------------------


def floor_table_sql(dialect_name: str) -> tuple[list[str], str]:
    """The engagements table's DDL and indexes (foreign keys left out: the floor has no parents)
    and the INSERT the floor runs."""
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from socialsell.db import schema as t

    dialect = (sqlite if dialect_name == "sqlite" else postgresql).dialect()
    ddl = [str(CreateTable(t.engagements, include_foreign_key_constraints=[]).compile(dialect=dialect))]
    ddl += [str(CreateIndex(ix).compile(dialect=dialect)) for ix in t.engagements.indexes]
    cols = [c.name for c in t.engagements.columns if c.name != "id"]
    marks = ", ".join("?" if dialect_name == "sqlite" else ("%s::json" if c == "raw" else "%s") for c in cols)
    return ddl, f"INSERT INTO engagements ({', '.join(cols)}) VALUES ({marks})"


def run_floor(size: int, people: int, db: str, tmp: Path) -> float:
    """Seconds of one raw executemany of every row, in one transaction."""
    if db == "sqlite":
        from socialsell.db.engine import CACHE_KIB

        ddl, sql = floor_table_sql("sqlite")
        con = sqlite3.connect(tmp / f"floor-{uuid.uuid4().hex[:6]}.db", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", f"cache_size={CACHE_KIB}"):
            con.execute(f"PRAGMA {pragma}")
        for stmt in ddl:
            con.execute(stmt)
        rows = list(floor_rows(size, people, sqlite=True))
        start = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.executemany(sql, rows)
        con.execute("COMMIT")
        secs = time.perf_counter() - start
        stored = con.execute("SELECT count(*) FROM engagements").fetchone()[0]
        con.close()
    else:
        import psycopg

        ddl, sql = floor_table_sql("postgresql")
        with psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://")) as con:
            for stmt in ddl:
                con.execute(stmt)
            con.commit()
            rows = list(floor_rows(size, people, sqlite=False))
            start = time.perf_counter()
            with con.cursor() as cur:
                cur.executemany(sql, rows)
            con.commit()
            secs = time.perf_counter() - start
            stored = con.execute("SELECT count(*) FROM engagements").fetchone()[0]
            con.execute("DROP TABLE engagements")
            con.commit()
    if stored != size:
        raise SystemExit(f"floor stored {stored} rows, expected {size}")
    return secs


def run_writes_only(size: int, people: int, db: str, batch: int, tmp: Path) -> float:
    """Seconds of only the writes ingest's data model needs, with no reads and no Python logic:
    per batch (one transaction, as :func:`run_ingest`), the engagement rows, one UPDATE of each
    touched contact (its kept score, when, the score, last seen) and one of its open task (score,
    last engagement), then the commit; on the product's own schema and connection (its pragmas
    and foreign keys). The people, their handles and their open tasks exist beforehand (set up,
    not timed). No ingest that writes what ingest writes can beat this: its ratio to the floor
    is the ceiling of ingest's."""
    from socialsell.app import App
    from socialsell.db import schema as t
    from socialsell.workspace import init_workspace

    init_workspace(tmp / "ws", name="bench")
    app = App.load(str(tmp / "ws"), None if db == "sqlite" else db, actor="alice", clock=lambda: NOW)
    account_id = app.account_id(ACCOUNT)
    sqlite = db == "sqlite"
    stamp = (lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite else (lambda d: d.replace(tzinfo=None))
    now, mark = stamp(NOW), "?" if sqlite else "%s"
    raw = app.db.engine.raw_connection()  # the product's connection, its connect-time pragmas applied
    try:
        cur = raw.cursor()

        def run(sql: str, rows: list[tuple]) -> None:
            cur.executemany(sql.replace("?", mark), rows)

        def begin() -> None:  # the product's SQLite connections begin explicitly (socialsell/db/engine.py)
            if sqlite:
                cur.execute("BEGIN IMMEDIATE")

        def commit() -> None:
            cur.execute("COMMIT") if sqlite else raw.commit()

        begin()

        run("INSERT INTO contacts (id, display_name, stage, score, score_points, scored_at, first_seen_at, last_seen_at, "
            "updated_at, origin) VALUES (?, ?, 'engaged', 1, 1, ?, ?, ?, ?, ?)",
            [(p + 1, f"Person {p}", now, now, now, now, f"sandbox:@person{p}") for p in range(people)])
        run("INSERT INTO handles (id, contact_id, channel, handle, name) VALUES (?, ?, 'sandbox', ?, ?)",
            [(p + 1, p + 1, f"@person{p}", f"Person {p}") for p in range(people)])
        run("INSERT INTO tasks (id, contact_id, owner, status, priority, score, reason, intent, due_at, sla_due_at, "
            "last_engagement_at, created_at, updated_at) VALUES (?, ?, 'alice', 'open', 3, 1, 'like', false, ?, ?, ?, ?, ?)",
            [(p + 1, p + 1, now, now, now, now, now) for p in range(people)])
        raw.commit()
        cols = [c.name for c in t.engagements.columns if c.name != "id"]
        insert = (f"INSERT INTO engagements ({', '.join(cols)}) VALUES "
                  f"({', '.join('?::json' if c == 'raw' and not sqlite else '?' for c in cols)})")
        source = engagements(size, people)
        secs = 0.0
        while chunk := list(itertools.islice(source, batch)):
            rows, touched = [], {}
            for e in chunk:
                p = int(e.person.handle.removeprefix("@person")) + 1
                at = stamp(e.occurred_at)
                rows.append((account_id, e.external_id, e.kind, p, p, None, p, e.text, e.url, e.post_remote_id,
                             e.in_reply_to, at, now, 1.0, None, json.dumps({"reasons": [], **e.raw})))
                touched[p] = max(touched.get(p, at), at)
            start = time.perf_counter()
            begin()
            run(insert, rows)
            run("UPDATE contacts SET score_points = ?, scored_at = ?, score = ?, last_seen_at = ?, updated_at = ? WHERE id = ?",
                [(2.5, now, 3.5, seen, now, p) for p, seen in touched.items()])
            run("UPDATE tasks SET score = ?, last_engagement_at = ?, updated_at = ? WHERE id = ?",
                [(3.5, seen, now, p) for p, seen in touched.items()])
            commit()
            secs += time.perf_counter() - start
    finally:
        raw.close()
        app.close()
    return secs


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


def run_ingest(app, size: int, people: int, batch: int) -> tuple[list[float], dict[str, int]]:
    """Seconds per batch of ``ingest()`` as the poller runs it, and what it made."""
    from socialsell.sales.ingest import ingest

    source = engagements(size, people)
    times, new, tasks = [], 0, 0
    while chunk := list(itertools.islice(source, batch)):
        start = time.perf_counter()
        with app.db.write() as conn:
            result = ingest(app, conn, ACCOUNT, chunk, NOW)
        result.fire_hooks(app)
        times.append(time.perf_counter() - start)
        new += len(result.stored)
        tasks += len(result.tasks_created)
    return times, {"new": new, "tasks_created": tasks}


def sanity(app) -> dict[str, int]:
    from sqlalchemy import func, select

    from socialsell.db import schema as t

    with app.db.read() as conn:
        def count(table, *where):
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

        return {"engagements": count(t.engagements), "contacts": count(t.contacts), "handles": count(t.handles),
                "open_tasks": count(t.tasks, t.tasks.c.status == "open"),
                "linked": count(t.engagements, t.engagements.c.task_id.is_not(None))}


def one_floor(size: int, db: str) -> dict:
    """The floor for one size (median of 3 fresh tables up to 100k, else one), in its own process:
    its rows are built in memory before the clock starts, which must not count as ingest's memory."""
    with tempfile.TemporaryDirectory(prefix="socialsell-bench-") as tmp_name:
        floors = [run_floor(size, max(1, size // 5), db, Path(tmp_name)) for _ in range(3 if size <= 100_000 else 1)]
    return {"floor_s": statistics.median(floors)}


def one_writes(size: int, db: str, batch: int) -> dict:
    """The writes-only ceiling for one size (:func:`run_writes_only`), in its own process."""
    with tempfile.TemporaryDirectory(prefix="socialsell-bench-") as tmp_name:
        return {"writes_s": run_writes_only(size, max(1, size // 5), db, batch, Path(tmp_name))}


def one_size(size: int, db: str, batch: int, profile: bool) -> dict:
    """Measure ingest for one size on one database; returns the figures as a dict (printed as JSON)."""
    from socialsell.app import App
    from socialsell.workspace import init_workspace

    people = max(1, size // 5)
    with tempfile.TemporaryDirectory(prefix="socialsell-bench-") as tmp_name:
        tmp = Path(tmp_name)
        init_workspace(tmp / "ws", name="bench")
        app = App.load(str(tmp / "ws"), None if db == "sqlite" else db, actor="alice", clock=lambda: NOW)
        app.account_ids()
        add_published_posts(app)
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        batches, counts = run_ingest(app, size, people, batch)
        if profiler:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
        made = sanity(app)
        app.close()
    per_tenth = len(batches) / 10
    tenths = [sum(batches[round(i * per_tenth):round((i + 1) * per_tenth)]) for i in range(10)] if len(batches) >= 10 else []
    return {"size": size, "people": people, "batch": batch, "ingest_s": sum(batches), "tenths_s": tenths,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **counts, **made}


# --- the driver ---------------------------------------------------------------------------------------


def child(*args: str, show_stderr: bool = False) -> dict:
    proc = subprocess.run([PYTHON, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"bench_ingest {' '.join(args)} failed: {proc.stderr[-3000:]}")
    if show_stderr:
        print(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(size: int, db: str, batch: int, profile: bool = False, writes_db: str | None = None) -> dict:
    """One size: the floor, then ingest, each in a fresh process (ingest's peak memory is its own),
    then the writes-only ceiling (on ``writes_db``, a database of its own; None: not measured)."""
    floor = child("--floor", str(size), "--db", db)["floor_s"]
    run = child("--one", str(size), "--db", db, "--batch", str(batch), *(["--profile"] if profile else []),
                show_stderr=profile)
    writes = child("--writes", str(size), "--db", writes_db, "--batch", str(batch))["writes_s"] if writes_db else None
    return {**run, "floor_s": floor, "ratio": floor / run["ingest_s"], "writes_s": writes}


def report(name: str, runs: list[dict]) -> bool:
    """Print each size's figures (human lines and one JSON line each) and the flatness; True if all met."""
    ok_all = True
    base = next((r for r in runs if r["size"] == 100_000), runs[-1])
    for r in runs:
        label = f"{r['size'] // 1000}k" if r["size"] < 1_000_000 else f"{r['size'] // 1_000_000}M"
        ok = r["ratio"] >= TARGET
        flat = abs(r["ratio"] / base["ratio"] - 1) <= FLAT
        healthy = r["engagements"] == r["new"] == r["size"] and 0 < r["contacts"] == r["handles"] and r["open_tasks"] > 0
        print(f"{name} {label}: {r['size'] / r['ingest_s']:,.0f} engagements/s ({r['ingest_s']:.1f} s), floor "
              f"{r['size'] / r['floor_s']:,.0f} rows/s ({r['floor_s']:.2f} s): ratio {r['ratio']:.3f} "
              f"(target >= {TARGET}) {verdict(ok)}; vs 100k {r['ratio'] / base['ratio']:.2f} (target 0.8-1.2) "
              f"{verdict(flat)}; peak {r['peak_mb']:.0f} MB")
        if r["tenths_s"]:
            print("  each tenth (s): " + " ".join(f"{x:.2f}" for x in r["tenths_s"]))
        if r.get("writes_s"):
            ceiling = r["floor_s"] / r["writes_s"]
            print(f"  ceiling: the writes alone (engagements, each touched contact and its task, a commit per batch; no reads, "
                  f"no logic) take {r['writes_s']:.2f} s, ratio {ceiling:.3f}: ingest does {r['writes_s'] / r['ingest_s']:.0%} "
                  "of its time in them")
            figure("ingest", f"ingest {name} {label} ceiling (writes only)", r["writes_s"], "s", floor=r["floor_s"],
                   ratio=ceiling, note="the best ratio any ingest writing these rows could reach")
        print(f"  made: {r['contacts']:,} contacts, {r['open_tasks']:,} open tasks, {r['linked']:,} engagements linked "
              f"to a task{'' if healthy else '  SANITY CHECK FAILED'}")
        figure("ingest", f"ingest {name} {label}", r["ingest_s"], "s", floor=r["floor_s"], ratio=r["ratio"],
               target=f">= {TARGET}", ok=ok, batch=r["batch"], tenths_s=[round(x, 3) for x in r["tenths_s"]])
        figure("ingest", f"ingest {name} {label} ratio vs 100k", r["ratio"] / base["ratio"], "x", target="0.8-1.2", ok=flat)
        if r["size"] >= 1_000_000:
            mem_ok = r["peak_mb"] < MEMORY_MB
            print(f"  peak memory {r['peak_mb']:.0f} MB (target < {MEMORY_MB}) {verdict(mem_ok)}")
            figure("ingest", f"ingest {name} {label} peak memory", float(r["peak_mb"]), "MB", target=f"< {MEMORY_MB}", ok=mem_ok)
            ok_all &= mem_ok
        ok_all &= ok and flat and healthy
    return ok_all


def postgres_url() -> tuple[str | None, object]:
    """A server for the PostgreSQL runs: SOCIALSELL_BENCH_POSTGRES, else a throwaway one."""
    url = os.environ.get("SOCIALSELL_BENCH_POSTGRES")
    if url:
        return url, None
    sys.path.insert(0, str(ROOT))
    from tests.pgserver import PostgresServer

    try:
        server = PostgresServer()
        server.start()
    except Exception as e:
        print(f"PostgreSQL: NOT MEASURED (no server: {e})")
        return None, None
    return server.url("postgres"), server


def fresh_database(server_url: str, size: int) -> str:
    import psycopg

    name = f"bench_ingest_{size}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="engagements per run, comma-separated (people: size/5)")
    ap.add_argument("--million", action="store_true", help="add the 1M run (about 10 minutes per database)")
    ap.add_argument("--batch", type=int, default=5000, help="engagements per ingest() transaction (one poll)")
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only")
    ap.add_argument("--profile", action="store_true", help="cProfile one 100k SQLite run (top 30 by own time)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--floor", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--writes", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--db", default="sqlite", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.floor:
        print(json.dumps(one_floor(args.floor, args.db)))
        return 0
    if args.writes:
        print(json.dumps(one_writes(args.writes, args.db, args.batch)))
        return 0
    if args.one:
        print(json.dumps(one_size(args.one, args.db, args.batch, args.profile)))
        return 0
    if args.profile:
        measure(100_000, "sqlite", args.batch, profile=True)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")] + ([1_000_000] if args.million else [])
    print(f"ingest, batches of {args.batch:,} (one poll each), people = size/5, load {os.getloadavg()[0]:.1f}")
    ok = report("sqlite", [measure(size, "sqlite", args.batch, writes_db="sqlite") for size in sizes])
    if not args.no_postgres:
        url, server = postgres_url()
        if url:
            try:
                ok &= report("postgres", [measure(size, fresh_database(url, size), args.batch,
                                                  writes_db=fresh_database(url, size)) for size in sizes])
            finally:
                if server is not None:
                    server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
