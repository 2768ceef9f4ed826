"""``socialsell crm setup``: create the custom properties the sync writes and matches on.

Idempotent: HubSpot's properties of each object are read first and only the missing ones are
created, in a property group ``socialsell``; a 409 (created meanwhile, by someone else or a
setup that died) counts as "exists". docs/crm.md lists them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from .settings import load_settings

GROUP = "socialsell"
#: (object type, property name, label, what it holds)
PROPERTIES = [
    ("contacts", "socialsell_contact_id", "socialsell contact id", "socialsell's id of this contact (matching)"),
    ("contacts", "socialsell_handles", "socialsell handles", "channel:handle pairs, space separated"),
    ("contacts", "socialsell_profile_urls", "socialsell profile URLs", "profile URLs, space separated (matching)"),
    ("tasks", "socialsell_key", "socialsell key", "the outbox key (task:12): found again after a crash"),
    ("notes", "socialsell_key", "socialsell key", "the outbox key (note:40): found again after a crash"),
]


def setup(app: Any, now: datetime, *, dry_run: bool) -> list[dict[str, Any]]:
    """One row per property: ``exists``, ``created`` or (dry run) ``missing: would create``."""
    from .client import HubSpot, HubSpotError  # noqa: PLC0415 - network client (hubspot-api-client), loaded only to talk to HubSpot

    settings = load_settings(app)
    hs = HubSpot(settings.token, settings.host, now, app.workspace.timezone)
    rows: list[dict[str, Any]] = []
    try:
        for object_type in dict.fromkeys(o for o, *_ in PROPERTIES):
            present = hs.property_names(object_type)
            wanted = [p for p in PROPERTIES if p[0] == object_type]
            missing = [p for p in wanted if p[1] not in present]
            if missing and not dry_run:
                hs.create_group(object_type, GROUP, "socialsell")
            for _, name, label, description in wanted:
                if name in present:
                    status = "exists"
                elif dry_run:
                    status = "missing: would create"
                else:
                    status = "created" if hs.create_property(object_type, name, label, GROUP, description) else "exists"
                rows.append({"id": f"{object_type}.{name}", "object": object_type, "name": name, "status": status})
    except HubSpotError as e:  # one line, the token never in it (client.py builds every message)
        raise click.ClickException(str(e)) from None
    return rows
