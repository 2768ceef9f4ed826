"""HubSpot CRM sync: follow-up contacts, tasks and engagement notes out; deals back.

Configured by a ``[hubspot]`` section (``token = {env = "HUBSPOT_TOKEN"}``); without one the
plugin does nothing. The HubSpot client is imported only when a sync runs. docs/crm.md.
"""

from __future__ import annotations

from socialsell.api import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_settings(register):
    from socialsell_hubspot.settings import SECTION, SETTINGS  # noqa: PLC0415 - the plugin's modules load when the hook runs, not with every command (docs/plugins.md)

    register(SECTION, SETTINGS)


@hookimpl
def register_commands(cli):
    from socialsell_hubspot.commands import crm  # noqa: PLC0415 - the plugin's modules load when the hook runs, not with every command (docs/plugins.md)

    cli.add_command(crm)


@hookimpl
def register_jobs(register):
    from socialsell_hubspot.commands import job_crm_sync  # noqa: PLC0415 - the plugin's modules load when the hook runs, not with every command (docs/plugins.md)

    # every minute; the job itself waits [hubspot] sync_seconds between passes (this hook cannot
    # read the workspace's settings)
    register("crm:hubspot", job_crm_sync, seconds=60,
             description="HubSpot: send contacts, tasks and notes from the outbox; read deals back")
