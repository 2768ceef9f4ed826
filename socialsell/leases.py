"""Named leases in the database: "only one worker polls this account at a time"."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, or_, update

from socialsell.db import schema as t

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.db.engine import Database


def acquire(db: Database, name: str, holder: str, now: datetime, seconds: float) -> bool:
    """Take (or renew) the lease ``name`` for ``holder`` unless someone else holds it unexpired."""
    if db.is_sqlite:
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    until = now + timedelta(seconds=seconds)
    stmt = insert(t.leases).values(name=name, holder=holder, expires_at=until, acquired_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": holder, "expires_at": until, "acquired_at": now},
        where=or_(t.leases.c.holder == holder, t.leases.c.expires_at < now),
    )
    with db.write() as conn:
        return bool(conn.execute(stmt).rowcount)


def renew(db: Database, name: str, holder: str, now: datetime, seconds: float) -> bool:
    with db.write() as conn:
        return bool(conn.execute(
            update(t.leases).where(and_(t.leases.c.name == name, t.leases.c.holder == holder))
            .values(expires_at=now + timedelta(seconds=seconds))
        ).rowcount)


def release(db: Database, name: str, holder: str) -> None:
    with db.write() as conn:
        conn.execute(delete(t.leases).where(and_(t.leases.c.name == name, t.leases.c.holder == holder)))


def release_all(db: Database, holder: str) -> None:
    with db.write() as conn:
        conn.execute(delete(t.leases).where(t.leases.c.holder == holder))
