"""The public plugin API: one module, documented name by name and field by field, and the only
part of socialsell the built-in plugins import (checked by import-linter in `make lint`)."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import socialsell.api as api
from socialsell.api import (
    AuthError,
    ContactView,
    DeliveryView,
    EngagementView,
    LoopbackReceiver,
    PostView,
    TaskView,
    View,
)

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "plugins.md").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PLUGINS = ["socialsell_sandbox", "socialsell_x", "socialsell_linkedin", "socialsell_bluesky", "socialsell_hubspot"]


def _doc_section(title: str) -> str:
    start = DOC.index(title)
    end = DOC.find("\n#", start + len(title))
    return DOC[start:end if end > 0 else None]


def test_every_public_name_is_documented():
    undocumented = [name for name in api.__all__ if f"`{name}`" not in DOC and f"`{name}(" not in DOC]
    assert not undocumented, f"docs/plugins.md does not document {undocumented}"
    assert all(hasattr(api, name) for name in api.__all__)


DATA_TYPES = ["Capabilities", "Published", "RemotePost", "SharedPost", "OurPost", "Person", "Engagement", "Metrics", "CheckResult"]


@pytest.mark.parametrize("type_name", DATA_TYPES)
def test_every_field_of_every_data_type_is_documented(type_name):
    section = _doc_section("### Data types")
    start = section.index(f"`{type_name}`")
    end = section.find("\n\n`", start)
    paragraph = section[start:end if end > 0 else None]
    missing = [f.name for f in dataclasses.fields(getattr(api, type_name)) if f"`{f.name}" not in paragraph]
    assert not missing, f"docs/plugins.md (Data types, {type_name}) does not document the fields {missing}"


@pytest.mark.parametrize("view", [PostView, DeliveryView, EngagementView, ContactView, TaskView])
def test_every_field_of_every_event_payload_is_documented(view):
    section = _doc_section("### Event payloads")
    line = next(line for line in section.split("\n- ") if line.startswith(f"`{view.__name__}`"))
    missing = [name for name in view.FIELDS if f"`{name}`" not in line]
    assert not missing, f"docs/plugins.md (Event payloads, {view.__name__}) does not document {missing}"


def test_a_view_reads_both_ways_and_cannot_be_changed():
    task = TaskView({"id": 7, "owner": "alice", "a_column_plugins_never_see": 1})
    assert task.owner == task["owner"] == "alice" and task.get("outcome") is None
    assert "a_column_plugins_never_see" not in task and dict(task)["id"] == 7
    with pytest.raises(AttributeError, match="read-only"):
        task.owner = "bob"
    with pytest.raises(TypeError):
        task["owner"] = "bob"  # type: ignore[index]
    with pytest.raises(AttributeError, match="no field 'colour'"):
        _ = task.colour
    assert View.of.__func__(TaskView, task) is task


# --- the import rules -----------------------------------------------------------------------


def test_the_plugin_contract_forbids_every_private_module():
    contract = next(c for c in PYPROJECT["tool"]["importlinter"]["contracts"] if c["id"] == "plugins-use-the-api")
    package = ROOT / "socialsell"
    modules = {f"socialsell.{p.stem}" for p in package.glob("*.py")} | {
        f"socialsell.{p.name}" for p in package.iterdir() if (p / "__init__.py").exists()}
    public = {"socialsell.api", "socialsell.testing", "socialsell.__init__", "socialsell.__main__"}
    missing = sorted(modules - public - set(contract["forbidden_modules"]))
    assert not missing, f"add {missing} to forbidden_modules of the plugins-use-the-api contract in pyproject.toml"
    # every built-in plugin, the CRM one included
    assert set(contract["source_modules"]) == set(PLUGINS) == set(PYPROJECT["tool"]["importlinter"]["root_packages"][1:])


def _lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath) if pythonpath else ""}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_lint_imports_keeps_every_contract():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("plugin", "bad_import", "contract"), [
    ("socialsell_sandbox", "from socialsell.db import schema  # noqa: F401", "Plugins import only socialsell.api"),
    ("socialsell_x", "from socialsell.plugins.channel import Channel  # noqa: F401", "Plugins import only socialsell.api"),
    ("socialsell_bluesky", "from socialsell.credentials import save_tokens  # noqa: F401", "Plugins import only socialsell.api"),
    ("socialsell_hubspot", "from socialsell.sales import crm  # noqa: F401", "Plugins import only socialsell.api"),
])
def test_lint_imports_fails_on_a_forbidden_import(tmp_path, plugin, bad_import, contract):
    # a copy of the tree with one bad import added: the same contracts must break on it
    for name in ("socialsell", *PLUGINS):
        src = ROOT / "socialsell" if name == "socialsell" else ROOT / "plugins" / name
        shutil.copytree(src, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    init = tmp_path / plugin / "__init__.py"
    init.write_text(init.read_text() + f"\n{bad_import}\n")
    result = _lint_imports(tmp_path, pythonpath=tmp_path)
    assert result.returncode == 1, result.stdout
    assert f"{contract} (and socialsell.testing in their tests) BROKEN" in result.stdout
    assert f"{plugin} -> " in result.stdout


def test_lint_imports_fails_when_the_core_imports_a_plugin(tmp_path):
    for name in ("socialsell", *PLUGINS):
        src = ROOT / "socialsell" if name == "socialsell" else ROOT / "plugins" / name
        shutil.copytree(src, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "socialsell" / "sales" / "scoring.py").write_text(
        (ROOT / "socialsell" / "sales" / "scoring.py").read_text() + "\nimport socialsell_x  # noqa: E402,F401\n")
    result = _lint_imports(tmp_path, pythonpath=tmp_path)
    assert result.returncode == 1 and "The core never imports a plugin BROKEN" in result.stdout


def test_make_lint_runs_lint_imports():
    assert re.search(r"^lint:.*\n(\t.*\n)*\t\$\(BIN\)/lint-imports", (ROOT / "Makefile").read_text(), re.M)


def test_built_in_plugins_import_socialsell_only_through_the_api():
    pattern = re.compile(r"^\s*(?:from|import)\s+(socialsell(?:\.[\w.]+)?)\b", re.M)
    for path in (ROOT / "plugins").rglob("*.py"):
        used = {m for m in pattern.findall(path.read_text())}
        allowed = {"socialsell.api"}
        assert used <= allowed, f"{path.relative_to(ROOT)} imports {sorted(used - allowed)}"


def test_the_api_imports_no_network_library():
    code = "import sys, socialsell.api; print(sorted(m for m in ('tweepy', 'linkedin_v2', 'atproto', 'httpx', 'apscheduler', 'requests', 'http.server') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"


# --- the loopback OAuth receiver ------------------------------------------------------------


def _get(url: str) -> int:
    import requests

    return requests.get(url, timeout=5).status_code


def test_the_receiver_ignores_a_foreign_state_and_waits_for_its_own():
    with LoopbackReceiver(state="ours-123", network="Mastodon") as receiver:
        base = receiver.redirect_uri
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", base)
        assert _get(base.replace("/callback", "/favicon.ico")) == 404
        assert _get(f"{base}?code=evil&state=theirs") == 400
        assert _get(f"{base}?code=good&state=ours-123") == 200
        assert receiver.wait(5) == {"code": "good", "state": "ours-123"}


def test_the_receiver_can_refuse_a_foreign_state():
    with LoopbackReceiver(state="ours-123", network="Mastodon", on_wrong_state="refuse") as receiver:
        assert _get(f"{receiver.redirect_uri}?code=evil&state=theirs") == 400
        with pytest.raises(AuthError, match="Mastodon's answer did not carry the state socialsell sent"):
            receiver.wait(5)


def test_the_receiver_returns_none_when_nobody_answers():
    with LoopbackReceiver(state="s" * 10) as receiver:
        assert receiver.wait(0.05) is None


def test_the_receiver_says_which_port_is_taken():
    with LoopbackReceiver(state="s" * 10) as first:
        port = int(first.redirect_uri.split(":")[2].split("/")[0])
        with pytest.raises(AuthError, match=f"cannot listen on 127.0.0.1:{port} for X's redirect"):
            LoopbackReceiver(state="t" * 10, port=port, network="X")


# --- the kit without pytest -----------------------------------------------------------------


def test_the_plain_checks_run_without_pytest(tmp_path):
    script = textwrap.dedent(f"""
        import os, sys
        sys.modules["pytest"] = None  # a plain install: importing pytest fails
        from socialsell.plugins.manager import build_plugin_manager, channel_types
        import socialsell.testing as kit
        os.environ["ECHO_TOKEN"] = "tok-123456"
        echo = channel_types(build_plugin_manager(plugins_dir={str(ROOT / 'docs' / 'examples')!r}))["echo"]
        channel = echo(kit.make_account({str(tmp_path)!r}, channel="echo", token={{"env": "ECHO_TOKEN"}}))
        kit.check_publish(channel)
        kit.check_construction(channel)
        try:
            kit.check_metrics(channel)
        except kit.CheckSkipped as e:
            print("skipped:", e)
        try:
            kit.ChannelContract
        except ImportError:
            print("ChannelContract needs pytest")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "skipped: EchoChannel does not read metrics" in result.stdout
    assert "ChannelContract needs pytest" in result.stdout


# --- tracing hook calls ---------------------------------------------------------------------


def test_trace_plugins_prints_every_hook_call_with_its_arguments_and_results(cli):
    result = cli("channels", "--json", env={"SOCIALSELL_TRACE_PLUGINS": "1"})
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("[plugins] ")]
    assert any(line.startswith("[plugins] register_channels(register=<function") and "bluesky" in line and "sandbox" in line
               for line in lines), lines
    assert "[plugins] register_channels returned []" in lines
    quiet = cli("channels", "--json")
    assert "[plugins]" not in quiet.stderr


# --- the CRM protocol -----------------------------------------------------------------------


@pytest.mark.parametrize("type_name", ["OutboxRow", "CrmRecord", "CrmDeal"])
def test_every_field_of_the_crm_types_is_documented(type_name):
    section = _doc_section("## CRM plugins")
    start = section.index(f"`{type_name}` (frozen)")
    end = section.find("\n\n`", start)
    paragraph = section[start:end if end > 0 else None]
    missing = [f.name for f in dataclasses.fields(getattr(api, type_name)) if f"`{f.name}`" not in paragraph]
    assert not missing, f"docs/plugins.md (CRM plugins, {type_name}) does not document the fields {missing}"


def test_every_crm_outbox_method_and_handle_field_is_documented():
    section = _doc_section("## CRM plugins")
    methods = [m for m in vars(api.CrmOutbox) if not m.startswith("_")]
    assert [m for m in methods if f"`{m}(" not in section] == []
    line = next(line for line in section.split("\n\n") if line.startswith("`HandleView`"))
    assert [f for f in api.HandleView.FIELDS if f"`{f}`" not in line] == []
