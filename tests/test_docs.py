"""The README stays true to the command line."""

from __future__ import annotations

import re
from pathlib import Path

import click

from socialsell.cli import build_cli

ROOT = Path(__file__).resolve().parent.parent


def _commands(group: click.Group, ctx: click.Context, prefix: str = "") -> list[str]:
    out = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        out.append(f"{prefix}{name}")
        if isinstance(command, click.Group):
            out += _commands(command, ctx, f"{prefix}{name} ")
    return out


def test_readme_names_every_command():
    cli = build_cli()
    readme = (ROOT / "README.md").read_text()
    missing = [c for c in _commands(cli, click.Context(cli)) if f"socialsell {c}" not in readme and f"| {c}" not in readme]
    assert missing == [], f"README.md does not show: {missing}"


def test_readme_quick_start_is_the_two_make_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make demo" in quick and "make test" in quick
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_docs_linked_from_the_readme_exist():
    readme = (ROOT / "README.md").read_text()
    for doc in ("docs/plugins.md", "docs/operations.md", "docs/marketing.md", "docs/sales.md", "docs/reports.md",
                "docs/channels/x.md", "docs/channels/linkedin.md"):
        assert doc in readme and (ROOT / doc).exists(), doc


def test_lazy_command_map_matches_what_each_module_registers():
    import importlib

    from socialsell.cli import BUILTIN_COMMANDS

    for module in set(BUILTIN_COMMANDS.values()):
        group = click.Group()
        importlib.import_module(f"socialsell.cli.{module}").register(group)
        assert {n for n, m in BUILTIN_COMMANDS.items() if m == module} == set(group.commands), module


def test_the_systemd_unit_in_operations_md_is_valid_syntax():
    """systemd reads `Key=value  # note` as part of the value: comments go on their own lines."""
    import re

    doc = (ROOT / "docs" / "operations.md").read_text()
    unit = re.search(r"```ini\n# /etc/systemd/system/socialsell.service\n(.*?)```", doc, re.S).group(1)
    for line in unit.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            assert " #" not in line, f"end-of-line comment in the systemd unit: {line!r}"
    assert "ExecStart=" in unit and "socialsell run" in unit


def test_every_toml_example_in_the_docs_is_a_valid_config(tmp_path):
    import re
    import tomllib

    from socialsell.errors import ConfigError
    from socialsell.workspace import build_workspace

    blocks = [(doc, block) for doc in sorted((ROOT / "docs").rglob("*.md"))
              for block in re.findall(r"```toml\n(.*?)```", doc.read_text(), re.S)]
    assert len(blocks) >= 5
    for doc, block in blocks:
        data = tomllib.loads(block)
        if "project" in data:  # a plugin's pyproject.toml, not a workspace config
            continue
        try:
            build_workspace(tmp_path / "socialsell.toml", data)
        except ConfigError as e:
            raise AssertionError(f"{doc.relative_to(ROOT)}: a TOML example is not a valid config: {e}") from None


def test_every_json_output_is_a_list_of_objects_with_an_id(workspace, cli):
    """The --json contract (docs/architecture.md), on every command that has it."""
    import json

    assert cli("post", "new", "--channel", "sandbox", "--text", "Hello", "--at", "+1h").exit_code == 0
    assert cli("campaign", "new", "launch").exit_code == 0
    commands = [
        ["tasks", "--all"], ["post", "list"], ["post", "show", "1"], ["queue"], ["templates", "list"],
        ["templates", "preview", "tip", "--channel", "sandbox", "--var", "tip=x"], ["campaign", "list"],
        ["campaign", "show", "launch"], ["contacts"], ["status"], ["plugins"], ["channels"],
        ["channels", "check", "sandbox"], ["sandbox", "timeline"],
    ]
    for args in commands:
        result = cli(*args, "--json")
        assert result.exit_code == 0, (args, result.output)
        rows = json.loads(result.output)
        assert isinstance(rows, list) and all(isinstance(r, dict) and "id" in r for r in rows), args
    report = json.loads(cli("report", "--format", "json").output)  # the report's JSON keeps the same contract
    assert isinstance(report, list) and all(isinstance(r, dict) and "id" in r for r in report)


def test_every_invariant_and_document_the_code_cites_exists():
    """Comments cite the numbered invariants of docs/architecture.md and documents under docs/:
    each one they name must be there, in the repository."""
    root = Path(__file__).parent.parent
    architecture = (root / "docs" / "architecture.md").read_text()
    numbered = set(re.findall(r"^(\d+)\. \*\*", architecture.split("## Invariants", 1)[1].split("\n## ", 1)[0], re.M))
    sources = [p for folder in ("socialsell", "plugins", "tests", "bench") for p in (root / folder).rglob("*.py")]
    for path in sources:
        text = path.read_text()
        for n in re.findall(r"invariant (\d+)", text):
            assert n in numbered, f"{path.relative_to(root)} cites invariant {n}, which docs/architecture.md does not number"
        for doc in re.findall(r"\bdocs/[\w/.-]+\.md\b", text):
            assert (root / doc).exists(), f"{path.relative_to(root)} cites {doc}, which does not exist"
        shared = "DESIGN" + ".md"  # spelled apart so this file does not cite it
        assert shared not in text, f"{path.relative_to(root)} cites {shared}, which a clone does not have"
