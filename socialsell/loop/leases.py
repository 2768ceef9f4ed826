"""Named leases in the database: "only one worker polls this account at a time"."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, or_, select, update

from socialsell.db import schema as t

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Connection

    from socialsell.db.engine import Database


def acquire(db: Database, name: str, holder: str, now: datetime, seconds: float) -> bool:
    """Take (or renew) the lease ``name`` for ``holder`` unless someone else holds it unexpired.

    A lease whose holder died on this machine (kill -9, OOM) is taken over at once instead of
    after its expiry.
    """
    with db.read() as conn:
        current = conn.execute(select(t.leases.c.holder).where(and_(
            t.leases.c.name == name, t.leases.c.expires_at >= now))).scalar()
    dead = [current] if current and current != holder and holder_is_dead(current) else []
    until = now + timedelta(seconds=seconds)
    stmt = db.insert(t.leases).values(name=name, holder=holder, expires_at=until, acquired_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": holder, "expires_at": until, "acquired_at": now},
        where=or_(t.leases.c.holder == holder, t.leases.c.expires_at < now,
                  *([t.leases.c.holder.in_(dead)] if dead else [])),
    )
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT, which is truthy
    with db.write() as conn:
        return conn.execute(stmt.returning(t.leases.c.holder)).scalar() is not None


@contextmanager
def held(db: Database, name: str, holder: str, now: datetime, seconds: float) -> Iterator[bool]:
    """Hold the lease ``name`` for the ``with`` block: yields True when ``holder`` got it (and
    releases it on the way out, whatever happens), False when someone else holds it.

    ``with leases.held(db, "job:metrics", worker, now, 600) as ours: if not ours: return ...``
    """
    if not acquire(db, name, holder, now, seconds):
        yield False
        return
    try:
        yield True
    finally:
        release(db, name, holder)


def renew(db: Database, name: str, holder: str, now: datetime, seconds: float) -> bool:
    """Extend a lease ``holder`` still holds; False when it was lost (taken over)."""
    with db.write() as conn:
        return bool(conn.execute(
            update(t.leases).where(and_(t.leases.c.name == name, t.leases.c.holder == holder))
            .values(expires_at=now + timedelta(seconds=seconds))
        ).rowcount)


def renew_in(conn: Connection, name: str, holder: str, now: datetime, seconds: float) -> bool:
    """Renew inside the caller's transaction: commit only what was done under a lease still held."""
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


# --- dead holders ------------------------------------------------------------------------------


def holder_is_dead(holder: str | None) -> bool:
    """True only when ``holder`` (``host:pid:random``, a :class:`socialsell.loop.Worker` id) is
    certainly gone: it ran on this machine and its process no longer exists.

    A holder on another machine, or whose pid is alive (even if reused), counts as alive, so
    its claims are only taken over when their lease expires: the safe direction.
    """
    if not holder:
        return False
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname():
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's process
        return False
    return False


def dead_holders(holders: Iterable[str | None]) -> list[str]:
    return sorted({h for h in holders if h and holder_is_dead(h)})
