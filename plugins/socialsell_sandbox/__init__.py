"""The sandbox channel: a local simulated network for the demo, the tests and trying socialsell.

Publishing appends to a timeline kept in the workspace; a seeded simulated audience reacts
to published posts over time; ``socialsell sandbox engage`` injects an engagement by hand.
"""

from __future__ import annotations

from socialsell.api import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_channels(register):
    from socialsell_sandbox.channel import SandboxChannel

    register("sandbox", SandboxChannel)


@hookimpl
def register_commands(cli):
    from socialsell_sandbox.commands import sandbox

    cli.add_command(sandbox)
