"""Merge chains: which contact survives when ``merged_into`` points elsewhere.

Merging a contact into another re-points every contact already merged into the one that goes
(socialsell/sales/contacts.py, ``merge``), so a chain is normally one hop. A longer one, or a
cycle, can only come from two merges racing on different connections; the walk stops after
:data:`MAX_MERGE_HOPS` so such a chain can never hang a command or a poll.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from socialsell.db import schema as t

#: the most ``merged_into`` links followed (a chain is one hop; see the module docstring)
MAX_MERGE_HOPS = 10


def follow_merges(merged_into: Callable[[int], int | None], contact_id: int) -> int:
    """The contact a chain of merges ends at, ``merged_into(id)`` giving each next hop (None:
    not merged); after :data:`MAX_MERGE_HOPS` the contact reached so far."""
    for _ in range(MAX_MERGE_HOPS):
        nxt = merged_into(contact_id)
        if nxt is None:
            return contact_id
        contact_id = nxt
    return contact_id


def survivor_id(conn: Connection, contact_id: int) -> int:
    """The contact ``contact_id`` was merged into, in the end (itself when never merged)."""
    def merged_into(cid: int) -> int | None:
        return conn.execute(select(t.contacts.c.merged_into).where(t.contacts.c.id == cid)).scalar()

    return follow_merges(merged_into, contact_id)
