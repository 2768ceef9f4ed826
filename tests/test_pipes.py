"""A reader that leaves early (``socialsell tasks | head -1``) ends the command quietly: exit
status 0 or 141 (128 + SIGPIPE, as a shell tool killed by SIGPIPE), nothing on stderr, never
"internal error: BrokenPipeError". Real processes and real pipes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from socialsell.plugins.channel import Person
from socialsell.sales.tasks import add_note

from .test_sales import eng, run

QUIET = (0, 141)


@pytest.fixture
def busy(app, workspace):
    """A workspace whose listings are far bigger than a pipe's buffer (64 KB)."""
    people = [Person(f"@p{i}", f"Person Number {i}", headline="Head of Buying " * 3, company=f"Company {i}")
              for i in range(150)]
    result = run(app, *(eng("@dana", "comment", f"What does pricing look like? ({i})", person=p)
                        for i, p in enumerate(people)))
    first = result.tasks_created[0]["id"]
    owner = result.tasks_created[0]["owner"]
    add_note(app, first, "a long note " * 10_000, force=True)
    return {"config": str(workspace), "task": str(first), "owner": owner}


def socialsell(busy) -> list[str]:
    return [sys.executable, "-m", "socialsell", "--config", busy["config"], "--as", busy["owner"]]


@pytest.mark.parametrize("args", [  # --limit 0: every row, far more than the pipe's buffer
    ("tasks", "--all", "--limit", "0"), ("tasks", "--all", "--limit", "0", "--json"), ("task", "show", "{task}"),
    ("contacts", "--limit", "0"), ("post", "list", "--csv"), ("post", "list"), ("contacts", "--limit", "0", "--json"),
])  # fmt: skip
def test_a_closed_pipe_ends_quietly(busy, args):
    """The reading end is closed before the command writes: every write fails with EPIPE."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([*socialsell(busy), *(a.format(**busy) for a in args)], stdout=write,
                              stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write)
    assert proc.returncode in QUIET, proc.stderr
    assert proc.stderr == b"", proc.stderr.decode()


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("head") is None, reason="needs bash and head")
@pytest.mark.parametrize("pipeline", [  # --limit 0: all 150 tasks, more than the pipe holds, and no cut note
    "{cmd} tasks --all --limit 0 | head -1", "{cmd} task show {task} | head -1",
    "{cmd} tasks --all --limit 0 --json | head -c 600",
])  # fmt: skip
def test_head_ends_the_pipeline_quietly(busy, pipeline):
    cmd = " ".join(socialsell(busy))
    script = pipeline.format(cmd=cmd, task=busy["task"]) + '; echo "status ${PIPESTATUS[0]}" >&2'
    proc = subprocess.run(["bash", "-c", script], capture_output=True, timeout=120)
    *errors, status = proc.stderr.decode().strip().splitlines()
    assert errors == [], errors
    assert int(status.split()[1]) in QUIET
    assert proc.stdout  # head got the start of the output
    if "head -c 600" in pipeline:
        assert len(proc.stdout) == 600
    else:
        assert len(proc.stdout.splitlines()) == 1
