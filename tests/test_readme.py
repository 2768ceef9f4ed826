"""The README's "First steps" block, run line by line in a fresh folder, as a new user would.

The test reads the block from README.md, so the two cannot drift: a line added there runs here
(and must at least succeed); the lines below that it knows say what each must show. The commands
are real subprocesses on the real clock, so nothing here depends on the time of day: the first
post is published `--at now`, and the queued one only has to land in some future slot.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from socialsell_sandbox.audience import FIRST_REACTION_MINUTES, reactions

README = Path(__file__).parent.parent / "README.md"

#: (pattern matched against a line, text its output must contain)
EXPECTED = [
    (r"^socialsell init ", "Created"),
    (r"post new .*--at now", "scheduled"),
    (r"sandbox engage", "@dana comment on post 1"),
    (r"--as alice tasks", "dana"),
    (r"task show 1", "suggested opener"),
    (r"post new .*--queue", "scheduled"),
    (r"^socialsell queue", "#2"),
]
#: what each `run --once` prints, in order: the first publishes the post, the second ingests @dana
RUN_ONCE = ["published 1", "1 new tasks"]


def first_steps() -> list[str]:
    text = README.read_text()
    block = text.split("## First steps", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_first_steps_work_word_for_word(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALSELL_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["SOCIALSELL_NO_KEYRING"] = "1"
    env["COLUMNS"] = "120"
    cwd = tmp_path
    lines = first_steps()
    assert lines[0].startswith("socialsell init") and lines[-1] == "socialsell run", lines
    run_once = iter(RUN_ONCE)
    for line in lines[:-1]:
        done = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        out = done.stdout + done.stderr
        assert done.returncode == 0, f"{line!r} exited {done.returncode}:\n{out}"
        assert "Error" not in done.stderr, f"{line!r}:\n{out}"
        for pattern, expected in EXPECTED:
            if re.search(pattern, line):
                assert expected in out, f"{line!r} should show {expected!r}:\n{out}"
        if line.endswith("run --once"):
            expected = next(run_once)
            assert expected in out, f"{line!r} should show {expected!r}:\n{out}"
        if match := re.search(r"&& cd (\S+)", line):
            cwd = cwd / match.group(1)
    assert next(run_once, None) is None, "the README has fewer `run --once` lines than this test expects"

    # the last line is the loop itself: it starts, works, and Ctrl-C stops it cleanly
    log = cwd / "run.log"
    with open(log, "w") as err:
        loop = subprocess.Popen(shlex.split(lines[-1]), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 60
            while "poll account=sandbox" not in log.read_text() and time.monotonic() < deadline:
                assert loop.poll() is None, log.read_text()
                time.sleep(0.2)
            assert "poll account=sandbox" in log.read_text(), log.read_text()
            loop.send_signal(signal.SIGINT)
            assert loop.wait(timeout=30) == 0, log.read_text()
        finally:
            if loop.poll() is None:
                loop.kill()
    assert "Traceback" not in log.read_text() and "internal error" not in log.read_text()


def test_someone_in_the_sandbox_audience_reacts_within_a_minute() -> None:
    for post in (f"p{i}" for i in range(1, 500)):
        planned = reactions(post, "a seed")
        assert planned and planned[0][0] <= FIRST_REACTION_MINUTES, post
        assert [r[0] for r in planned] == sorted(r[0] for r in planned), post
