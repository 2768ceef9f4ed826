"""Shared helpers for the benchmarks: medians of subprocess wall times, workspace setup.

Every benchmark prints a RATIO against a floor measured in the same run on the same machine,
never an absolute time: machines are noisy, ratios much less so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable  # the venv's interpreter: the floor and the CLI run on the same one
BIN = Path(PYTHON).parent

#: a fixed "now" for generated data, so every run builds the same rows
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for timed subprocesses: no socialsell variables leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALSELL_")}
    env.update(extra)
    return env


def run_ms(argv: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one subprocess, in ms. Fails loudly if the command fails."""
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or clean_env())
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return elapsed


def median_ms(argv: Sequence[str], runs: int, warmup: int = 1, env: dict[str, str] | None = None) -> float:
    """Median wall time of ``runs`` subprocesses, after ``warmup`` untimed ones (page cache, .pyc)."""
    for _ in range(warmup):
        run_ms(argv, env)
    return statistics.median(run_ms(argv, env) for _ in range(runs))


def interleaved_medians(commands: dict[str, Sequence[str]], runs: int, warmup: int = 1,
                        env: dict[str, str] | None = None) -> dict[str, float]:
    """Median per command, running the commands round-robin so drift hits them all alike."""
    for argv in commands.values():
        for _ in range(warmup):
            run_ms(argv, env)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(run_ms(argv, env))
    return {name: statistics.median(s) for name, s in samples.items()}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def figure(name: str, value: float, *, target: str, ok: bool, unit: str, **extra: Any) -> None:
    """One figure as one JSON line on stdout (``{"figure": ..., "value": ..., "target": ..., "ok": ...}``),
    beside the human lines, so `make bench` output can be collected by a machine: ``grep '^{'``."""
    print(json.dumps({"figure": name, "value": round(value, 4), "unit": unit, "target": target, "ok": ok, **extra}))


def make_workspace(folder: Path) -> Any:
    """A fresh workspace in ``folder`` (the default config: sandbox account, reps alice and bob),
    its database created at the current schema. Returns the loaded :class:`socialsell.app.App`."""
    from socialsell.app import App
    from socialsell.workspace import init_workspace

    init_workspace(folder, name="bench")
    app = App.load(str(folder), actor="alice", clock=lambda: NOW)
    app.account_ids()  # creates the database (migrations) and the account rows
    return app


def bulk_insert(conn: Any, table: Any, rows: list[dict[str, Any]], chunk: int = 20_000) -> None:
    """Core executemany in chunks (setup only, not measured)."""
    from sqlalchemy import insert

    for i in range(0, len(rows), chunk):
        conn.execute(insert(table), rows[i:i + chunk])


def add_workspace_options(ap: argparse.ArgumentParser) -> None:
    """The benchmark workspace's size (the targets' workspace by default) and where to keep it."""
    ap.add_argument("--engagements", type=int, default=100_000)
    ap.add_argument("--contacts", type=int, default=20_000)
    ap.add_argument("--tasks", type=int, default=5_000, help="open tasks")
    ap.add_argument("--posts", type=int, default=500)
    ap.add_argument("--keep", metavar="DIR", help="build the workspace in DIR and keep it (default: a temp dir)")


@contextlib.contextmanager
def workspace_folder(args: argparse.Namespace) -> Iterator[Path]:
    """``--keep DIR`` or a temporary folder removed afterwards."""
    if args.keep:
        yield Path(args.keep)
        return
    with tempfile.TemporaryDirectory(prefix="socialsell-bench-") as tmp:
        yield Path(tmp)
