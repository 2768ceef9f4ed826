"""What loading and checking socialsell.toml adds to a read command, against the floor
``python -c "import click, sqlalchemy"`` (the same floor as bench_read.py).

Target (docs/configuration.md: the whole file is checked at load): importing the settings and
workspace modules and loading the default config (``socialsell init``'s) add at most 10 % of
the floor (about 10 ms on a quiet machine), measured as real subprocesses, round-robin.
In-process, one load of that config is also timed (no floor: it is well under a millisecond).

    .venv/bin/python bench/bench_config.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, clean_env, figure, paired_ratios  # noqa: E402

from socialsell.workspace import init_workspace, load_workspace  # noqa: E402

TARGET = 1.10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = init_workspace(Path(tmp) / "ws", name="bench")
        floor = "import click, sqlalchemy"
        load = f"import click, sqlalchemy; from socialsell.workspace import load_workspace; load_workspace({str(config)!r})"
        # bytecode cached, as in an install (common.clean_env)
        results = paired_ratios({"floor": [PYTHON, "-c", floor], "load": [PYTHON, "-c", load]}, args.runs,
                                env=clean_env())
        times = []
        for _ in range(200):
            start = time.perf_counter()
            load_workspace(config)
            times.append(time.perf_counter() - start)
    (floor_ms, _), (load_ms, ratio) = results["floor"], results["load"]
    ok = ratio <= TARGET
    figure("config", "import + load of the default config", load_ms, "ms", floor=floor_ms, ratio=ratio,
           target=f"<= {TARGET}", ok=ok, runs=args.runs, note="median of the rounds' ratios")
    figure("config", "load_workspace in-process (modules imported)", statistics.median(times) * 1000, "ms", runs=200)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
