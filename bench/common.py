"""Shared helpers for the benchmarks: medians of subprocess wall times, workspace setup, and
how every figure is reported.

Every benchmark prints a RATIO against a floor measured in the same run on the same machine,
never an absolute time: machines are noisy, ratios much less so.

Reporting (bench/README.md, "Results"): each figure goes through :func:`figure`, which prints
one human line (value, floor, ratio, target, OK/MISSED) and one JSON line, to stdout and
appended to ``bench/results.jsonl`` (or the file named by ``SOCIALSELL_BENCH_RESULTS``), so
runs can be compared over time and across branches.
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


#: where timed subprocesses keep their bytecode (see :func:`clean_env`)
PYCACHE = Path(tempfile.gettempdir()) / f"socialsell-bench-pycache-{os.getuid()}"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for timed subprocesses: no socialsell variables leaking in, and bytecode
    cached as in an install. An installed package has its .pyc files; a checkout run with
    ``PYTHONDONTWRITEBYTECODE=1`` (as some shells and CI images set) compiles every socialsell
    module from source on every start, about 40 ms on the read commands here: a cost no user
    pays. The cache lives outside the checkout (``PYTHONPYCACHEPREFIX``), filled by the warm-up run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALSELL_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
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
    return {name: statistics.median(s) for name, s in _rounds(commands, runs, warmup, env).items()}


def _rounds(commands: dict[str, Sequence[str]], runs: int, warmup: int,
            env: dict[str, str] | None) -> dict[str, list[float]]:
    """Each command's times (ms) over ``runs`` rounds, every command once a round, after ``warmup`` runs each."""
    for argv in commands.values():
        for _ in range(warmup):
            run_ms(argv, env)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(run_ms(argv, env))
    return samples


def paired_ratios(commands: dict[str, Sequence[str]], runs: int, floor: str = "floor", warmup: int = 1,
                  env: dict[str, str] | None = None) -> dict[str, tuple[float, float]]:
    """Per command, (median ms, median ratio to the floor), the floor run in every round next to
    the commands: each ratio is taken within one round, so a burst of load on a shared machine
    moves both sides of it (paired samples), and the median of the rounds' ratios is reported.
    The floor's own entry is (median ms, 1.0)."""
    samples = _rounds(commands, runs, warmup, env)
    base = samples[floor]
    return {name: (statistics.median(s), statistics.median(x / f for x, f in zip(s, base, strict=True)))
            for name, s in samples.items()}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


#: the JSON lines file (one object per figure, appended); SOCIALSELL_BENCH_RESULTS overrides it
RESULTS = Path(os.environ.get("SOCIALSELL_BENCH_RESULTS") or ROOT / "bench" / "results.jsonl")


def _commit() -> str | None:
    proc = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def figure(bench: str, name: str, value: float, unit: str, *, floor: float | None = None,
           ratio: float | None = None, target: str | None = None, ok: bool | None = None,
           runs: int | None = None, note: str = "", **extra: Any) -> dict[str, Any]:
    """Report one figure: a human line, then the same as one JSON line, on stdout and appended
    to :data:`RESULTS`.

    ``target`` is the comparison as text (``"<= 1.3"``, ``">= 0.3"``) and ``ok`` whether it was
    met (None: no target, a figure given for context). The JSON line also carries the load
    average when the figure was taken, the commit and the time, so a ratio can be read against
    how busy the machine was."""
    parts = [f"{name}: {value:,.{_decimals(value)}f} {unit}" if isinstance(value, float) else f"{name}: {value} {unit}"]
    if floor is not None:
        parts.append(f"floor {floor:,.{_decimals(floor)}f} {unit}")
    if ratio is not None:
        parts.append(f"ratio {ratio:.2f}")
    line = ", ".join(parts) + (f" (target {target}) {verdict(bool(ok))}" if target else " (no target)")
    print(line + (f"; {note}" if note else ""))
    record = {"bench": bench, "figure": name, "value": round(value, 3), "unit": unit, "floor": floor and round(floor, 3),
              "ratio": ratio and round(ratio, 4), "target": target, "ok": ok, "runs": runs,
              "load": [round(x, 2) for x in os.getloadavg()], "commit": _commit(),
              "at": datetime.now(UTC).isoformat(timespec="seconds"), **extra}
    text = json.dumps(record, ensure_ascii=False)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(text + "\n")
    return record


def _decimals(x: float) -> int:
    return 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2


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
    ap.add_argument("--keep", metavar="DIR", help="build the workspace in DIR and keep it (default: a temp dir); a DIR that has one is reused")


@contextlib.contextmanager
def workspace_folder(args: argparse.Namespace) -> Iterator[Path]:
    """``--keep DIR`` or a temporary folder removed afterwards."""
    if args.keep:
        yield Path(args.keep)
        return
    with tempfile.TemporaryDirectory(prefix="socialsell-bench-") as tmp:
        yield Path(tmp)
