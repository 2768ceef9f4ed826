"""The sandbox channel: a local simulated network for the demo, the tests and trying socialsell.

Publishing appends to a timeline kept in the workspace; a seeded simulated audience reacts
to published posts over time; ``socialsell sandbox engage`` injects an engagement by hand.
"""

from __future__ import annotations

from socialsell.api import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_channels(register):
    from socialsell_sandbox.channel import SandboxChannel  # noqa: PLC0415 - the plugin's modules load when the hook runs, not with every command (docs/plugins.md)

    register("sandbox", SandboxChannel)


@hookimpl
def register_commands(cli):
    from socialsell_sandbox.commands import sandbox  # noqa: PLC0415 - the plugin's modules load when the hook runs, not with every command (docs/plugins.md)

    cli.add_command(sandbox)
