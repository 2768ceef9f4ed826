"""The ``[hubspot]`` section of ``socialsell.toml``: declared here (:data:`SETTINGS`, through the
``register_settings`` hook), checked by socialsell against the declaration when plugins load;
documented in docs/configuration.md and docs/crm.md.

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

from socialsell.api import Setting, UsageError

SECTION = "hubspot"
DAY = 86400

#: the keys of ``[hubspot]`` (register_settings): anything else is refused with a did-you-mean
SETTINGS = (
    Setting("token", required=True, secret=True, help="a private app's access token"),
    Setting("host", type="url", help="another server than https://api.hubapi.com (tests use a local one)"),
    Setting("sync_seconds", type=int, default=300, low=10, high=DAY, help="how often the loop's job syncs"),
    Setting("deals", type=bool, default=True, help="read deals back"),
)


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
    return app.plugin_settings(SECTION) is not None


def load_settings(app: Any) -> HubSpotConfig:
    """The settings (checked against :data:`SETTINGS` when plugins loaded), the token
    resolved; a clear :class:`UsageError` when there is no section or nothing at the reference."""
    where = app.workspace.config_path.name
    section = app.plugin_settings(SECTION)
    if section is None:
        raise UsageError(f"no [hubspot] section in {where}: add one with token = {{env = \"HUBSPOT_TOKEN\"}} (docs/crm.md)")
    token = section.setting("token")
    if not token:
        source = ", ".join(f"{k} {v}" for k, v in section["token"].items())
        raise UsageError(f"{where}: [hubspot] token: nothing found at {source} (set it, then run `socialsell crm sync`)")
    return HubSpotConfig(token=str(token), host=section.get("host"), sync_seconds=section["sync_seconds"],
                         deals=section["deals"])
