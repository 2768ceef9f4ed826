"""``socialsell plugin new``: start a plugin from a package that already passes its tests."""

from __future__ import annotations

from pathlib import Path

import click

from socialsell.cli.common import handle_errors
from socialsell.scaffold import KINDS, generate


def register(cli: click.Group) -> None:
    cli.add_command(plugin)


@click.group()
def plugin() -> None:
    """Write your own plugin."""


@plugin.command("new")
@click.argument("name")
@click.option("--kind", type=click.Choice(list(KINDS)), default="channel", show_default=True,
              help="What the plugin does.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to write the package's folder.")
@handle_errors
def plugin_new(name: str, kind: str, directory: Path) -> None:
    """Write a pip-installable plugin package NAME (socialsell-NAME/) with tests that pass."""
    target, files = generate(name, kind, directory)
    click.echo(f"wrote {target}/ ({len(files)} files): {KINDS[kind]}")
    click.echo(f"next: cd {target} && pip install -e '.[test]' && python -m pytest; then `socialsell plugins` lists {name}")
    click.echo("docs: docs/plugins.md (the public API, socialsell.api, and the contract kit)")
