"""Issue 14 item 4: what a read command pays at start. Tables are built on first use (all of
them when the whole schema is asked for), safely from several threads; rapidfuzz is imported
only to match a name. Each check runs in a fresh interpreter: this one has built everything."""

from __future__ import annotations

import json
import subprocess
import sys

LAZY_TABLES = """
import json, threading
from socialsell.db import schema as t
before = sorted(t.metadata._tables)
tasks = t.tasks
after_tasks = sorted(t.metadata._tables)
got, errors = [], []
def use():
    try:
        got.append(t.engagements)
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=use) for _ in range(8)]
[x.start() for x in threads]
[x.join() for x in threads]
everything = t.metadata.tables
print(json.dumps({"before": before, "after_tasks": after_tasks, "errors": errors,
                  "one_object": len({id(g) for g in got}) == 1 and got[0] is t.engagements,
                  "same_objects": all(everything[name] is getattr(t, name) for name in everything),
                  "fk_type": repr(tasks.c.contact_id.type), "count": len(everything)}))
"""


def _run(code: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_tables_are_built_on_first_use_and_all_for_the_whole_schema():
    r = json.loads(_run(LAZY_TABLES))
    assert r["before"] == []  # importing the schema builds nothing
    assert "tasks" in r["after_tasks"] and "contacts" in r["after_tasks"]  # a table and what its keys name
    assert "posts" not in r["after_tasks"]
    assert r["fk_type"] == "BigInteger()"  # a foreign key column typed from its target, as if built eagerly
    assert r["errors"] == [] and r["one_object"]  # eight threads asking at once get the one table
    assert r["same_objects"] and r["count"] >= 20


def test_tasks_does_not_import_rapidfuzz(workspace):
    code = ("import sys, io, contextlib\nfrom socialsell.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(sys.argv[1:])\n    except SystemExit as e:\n        assert not e.code, e.code\n"
            "print('rapidfuzz' in sys.modules)")
    assert _run(code, "--config", str(workspace), "--as", "alice", "tasks", "--json").strip() == "False"
    assert _run(code, "--config", str(workspace), "contacts", "--json").strip() == "False"


def test_the_read_lists_do_not_import_the_channel_module(workspace):
    """The channel module costs ~10 ms (-X importtime); the read lists need none of it. A module-top
    import in cli/common, cli/inputs (through marketing.media) or sales/tasks would bring it back."""
    code = ("import sys, io, contextlib\nfrom socialsell.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(sys.argv[1:])\n    except SystemExit as e:\n        assert not e.code, e.code\n"
            "print('socialsell.plugins.channel' in sys.modules)")
    for argv in (["--as", "alice", "tasks", "--json"], ["contacts", "--json"], ["deal", "list", "--json"]):
        assert _run(code, "--config", str(workspace), *argv).strip() == "False", argv


def test_a_one_line_table_does_not_import_rich(workspace, cli):
    """rich costs ~25 ms to import and ~22 ms to lay out a page of 50 tasks; a one-line table
    (`tasks`, `post list`) is written without it (socialsell/cli/plain_table.py; the output is
    rich's, tests/test_plain_table.py)."""
    assert cli("post", "new", "--channel", "sandbox", "--text", "Hello there", "--queue").exit_code == 0
    code = ("import sys, io, contextlib\nfrom socialsell.cli import main\nout = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            "    try:\n        main(sys.argv[1:])\n    except SystemExit as e:\n        assert not e.code, e.code\n"
            "print('Hello there' in out.getvalue(), sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))")
    assert _run(code, "--config", str(workspace), "post", "list").strip() == "True []"


def test_the_rep_lists_import_none_of_the_rest_of_the_sales_domain(workspace):
    """`tasks` and `contacts` run socialsell.sales.lists alone: scoring, deals, finding and
    merging people cost ~5 ms at import (-X importtime) that the lists never use."""
    code = ("import sys, io, contextlib\nfrom socialsell.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(sys.argv[1:])\n    except SystemExit as e:\n        assert not e.code, e.code\n"
            "print(sorted(m for m in sys.modules if m.startswith(('socialsell.sales.', 'socialsell.marketing'))))")
    for argv in (["--as", "alice", "tasks", "--json"], ["--as", "alice", "tasks"], ["contacts", "--json"]):
        assert _run(code, "--config", str(workspace), *argv).strip() == "['socialsell.sales.lists']", argv
