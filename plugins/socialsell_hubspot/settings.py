"""The ``[hubspot]`` section of ``socialsell.toml`` (parsed and checked with the rest of the file
by socialsell/settings.py; documented in docs/configuration.md and docs/crm.md).

::

    [hubspot]
    token = {env = "HUBSPOT_TOKEN"}   # a private app's access token, always a secret reference
    # host = "https://api.hubapi.com" # only to point at another server (tests use a local one)
    # sync_seconds = 300              # how often `socialsell run` syncs
    # deals = true                    # read deals back into socialsell
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from socialsell.api import UsageError


@dataclass(frozen=True)
class HubSpotConfig:
    """The checked ``[hubspot]`` settings with the token resolved (for one sync pass)."""

    token: str
    host: str | None
    sync_seconds: int
    deals: bool

    def __repr__(self) -> str:  # never show the token, even in a traceback's locals
        return f"HubSpotConfig(host={self.host!r}, sync_seconds={self.sync_seconds}, deals={self.deals})"


def configured(app: Any) -> bool:
    """Whether the workspace has a ``[hubspot]`` section at all."""
    return app.workspace.settings.hubspot is not None


def load_settings(app: Any) -> HubSpotConfig:
    """The settings (checked when the workspace loaded, socialsell/settings.py), the token
    resolved; a clear :class:`UsageError` when there is no section or nothing at the reference."""
    where = app.workspace.config_path.name
    section = app.workspace.settings.hubspot
    if section is None:
        raise UsageError(f"no [hubspot] section in {where}: add one with token = {{env = \"HUBSPOT_TOKEN\"}} (docs/crm.md)")
    token = app.workspace.resolve_secret(section.token, "hubspot.token")
    if not token:
        source = ", ".join(f"{k} {v}" for k, v in section.token.items())
        raise UsageError(f"{where}: [hubspot] token: nothing found at {source} (set it, then run `socialsell crm sync`)")
    return HubSpotConfig(token=str(token), host=section.host, sync_seconds=section.sync_seconds, deals=section.deals)
