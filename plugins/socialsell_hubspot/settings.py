"""The ``[hubspot]`` section of ``socialsell.toml``.

::

    [hubspot]
    token = {env = "HUBSPOT_TOKEN"}   # a private app's access token, always a secret reference
    # host = "https://api.hubapi.com" # only to point at another server (tests use a local one)
    # sync_seconds = 300              # how often `socialsell run` syncs
    # deals = true                    # read deals back into socialsell
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from socialsell.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

SECTION = "hubspot"


@dataclass(frozen=True)
class HubSpotSettings:
    token: str
    host: str | None
    sync_seconds: int
    deals: bool

    def __repr__(self) -> str:  # never show the token, even in a traceback's locals
        return f"HubSpotSettings(host={self.host!r}, sync_seconds={self.sync_seconds}, deals={self.deals})"


def configured(app: App) -> bool:
    """Whether the workspace has a ``[hubspot]`` section at all."""
    return bool(app.workspace.section(SECTION))


def load_settings(app: App) -> HubSpotSettings:
    """The checked settings, the token resolved; a clear :class:`UsageError` otherwise."""
    where = app.workspace.config_path.name
    section = app.workspace.section(SECTION)
    if not section:
        raise UsageError(f"no [hubspot] section in {where}: add one with token = {{env = \"HUBSPOT_TOKEN\"}} (docs/crm.md)")
    raw = section.get("token")
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: hubspot.token must be a secret reference such as {{env = \"HUBSPOT_TOKEN\"}}, "
                         "not the token itself")
    token = app.workspace.resolve_secret(raw, "hubspot.token")
    if not token:
        source = ", ".join(f"{k} {v}" for k, v in raw.items())
        raise UsageError(f"{where}: hubspot.token: nothing found at {source} (set it, then run `socialsell crm sync`)")
    host = section.get("host")
    if host is not None and (not isinstance(host, str) or not host.startswith(("http://", "https://"))):
        raise UsageError(f"{where}: hubspot.host must be an http(s) URL")
    seconds = section.get("sync_seconds", 300)
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 10:
        raise UsageError(f"{where}: hubspot.sync_seconds must be a whole number of seconds, at least 10")
    deals = section.get("deals", True)
    if not isinstance(deals, bool):
        raise UsageError(f"{where}: hubspot.deals must be true or false")
    return HubSpotSettings(token=str(token), host=host, sync_seconds=seconds, deals=deals)
