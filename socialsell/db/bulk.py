"""Bulk writes for the hot path (ingest): driver-level executemany of already-converted tuples.

SQLAlchemy's Core builds a parameter dict and runs the type processors of every column on every
row of an executemany; on a batch of thousands of engagements that costs more than the insert
itself (issue 14's profile). Here the caller converts each value once to what the driver stores
(:class:`StoredValues`), and the statement goes to the driver as it is: ``?`` placeholders for
sqlite3, ``%s`` for psycopg.

Only the hot writes use this; everything else stays in Core.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.engine import Connection


class StoredValues:
    """Python values to what the driver stores, as :class:`~socialsell.db.schema.UTCDateTime`
    and ``JSON`` columns would bind them, and back.

    Both directions remember the values of one batch: a batch's rows share a handful of times
    (its "now", the deadlines it sets, the times of earlier batches read back), and a converted
    time is immutable, so converting each once is exact and saves most of ingest's time work.
    """

    def __init__(self, conn: Connection) -> None:
        self.sqlite = conn.dialect.name == "sqlite"
        self._stored: dict[datetime, Any] = {}  # aware times only: a naive one is refused
        self._read: dict[Any, datetime] = {}

    def time(self, value: datetime | None) -> Any:
        if value is None:
            return None
        out = self._stored.get(value)  # one instant, whatever its zone: the same UTC text
        if out is not None:
            return out
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: times must be aware (UTC)")
        stored: Any = value.astimezone(UTC).replace(tzinfo=None)  # as UTCDateTime binds it
        if self.sqlite:  # SQLAlchemy's SQLite DATETIME text ("2026-06-01 12:00:00.000000")
            stored = stored.isoformat(" ", "microseconds")
        if len(self._stored) < _REMEMBER:
            self._stored[value] = stored
        return stored

    @staticmethod
    def json(value: Any) -> str | None:
        return None if value is None else json.dumps(value)

    def read_time(self, value: str | datetime | None) -> datetime | None:
        """A time read at the driver (:func:`select_in`): SQLite's text or PostgreSQL's naive UTC, made aware."""
        if value is None:
            return None
        out = self._read.get(value)
        if out is None:
            out = (datetime.fromisoformat(value) if isinstance(value, str) else value).replace(tzinfo=UTC)
            if len(self._read) < _REMEMBER:
                self._read[value] = out
        return out


#: how many distinct times one :class:`StoredValues` remembers (a batch's worth)
_REMEMBER = 50_000


def _placeholders(conn: Connection, table: Table, columns: Sequence[str]) -> str:
    if conn.dialect.name == "sqlite":
        return ", ".join("?" for _ in columns)
    # psycopg: a JSON column is given its text, cast where it lands
    return ", ".join("%s::json" if isinstance(table.c[c].type, JSON) else "%s" for c in columns)


def insert_many(conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple], *,
                on_conflict: str | None = None, returning: Sequence[str] = ()) -> list[tuple]:
    """INSERT ``rows`` (tuples in the order of ``columns``) in one executemany.

    :param on_conflict: the conflict target, e.g. ``"(channel, handle)"``: rows that would
        violate it are skipped (``ON CONFLICT ... DO NOTHING``), as another worker stored them first.
    :param returning: columns to return for the rows actually stored (``id`` among them).
    """
    if not rows:
        return []
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({_placeholders(conn, table, columns)})"
    if on_conflict:
        sql += f" ON CONFLICT {on_conflict} DO NOTHING"
    if not returning:
        conn.exec_driver_sql(sql, rows)
        return []
    if conn.dialect.name == "sqlite":
        # sqlite3's executemany returns no rows. A SQLite write transaction holds the database's
        # one write lock (BEGIN IMMEDIATE, socialsell/db/engine.py), so every row with an id
        # above the largest before the insert is one of ours
        before = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table.name}").scalar()
        conn.exec_driver_sql(sql, rows)
        return conn.exec_driver_sql(f"SELECT {', '.join(returning)} FROM {table.name} WHERE id > ?", (before,)).all()
    # PostgreSQL: the ids are taken from the table's sequence first, so the rows stored are found
    # by them afterwards (a row skipped on conflict is not ours); every statement goes through
    # SQLAlchemy, so its events and logging see them
    ids = conn.exec_driver_sql(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                               "FROM generate_series(1, %s)", (len(rows),)).scalars().all()
    insert = sql.replace(f"({', '.join(columns)}) VALUES (", f"(id, {', '.join(columns)}) VALUES (%s, ", 1)
    conn.exec_driver_sql(insert, [(id_, *row) for id_, row in zip(ids, rows, strict=True)])
    return conn.exec_driver_sql(f"SELECT {', '.join(returning)} FROM {table.name} WHERE id = ANY(%s)", (ids,)).all()


def select_in(conn: Connection, sql: str, values: Sequence[Any], *params: Any) -> list[tuple]:
    """Run ``sql`` at the driver with ``{p}`` for each of ``params`` and ``{in}`` for the list
    ``values`` (one chunk: the caller keeps it under the parameter limits), returning tuples.

    Core renders an expanding ``IN`` afresh on every execution, parameter by parameter; on
    ingest's dozens of 900-id lookups per batch that cost more than the queries.
    """
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    text = sql.format(p=mark, **{"in": ", ".join(mark for _ in values)})
    return conn.exec_driver_sql(text, (*params, *values)).all()


def update_many(conn: Connection, table: Table, changes: Iterable[tuple[int, dict[str, Any]]],
                *, keep: Sequence[str] = ()) -> int:
    """UPDATE only the columns that changed: ``changes`` is ``(id, {column: stored value})``;
    rows changing the same columns share one executemany. A column in ``keep`` is written as
    ``coalesce(column, new)``: set only where it was empty (a contact's first owner).
    Returns the number of rows written."""
    groups: dict[tuple[str, ...], list[tuple]] = {}
    for id_, values in changes:
        if values:
            cols = tuple(sorted(values))
            groups.setdefault(cols, []).append((*(values[c] for c in cols), id_))
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    for cols, rows in groups.items():
        sets = ", ".join(
            f"{c} = coalesce({c}, {mark})" if c in keep
            else f"{c} = {mark}::json" if mark == "%s" and isinstance(table.c[c].type, JSON)
            else f"{c} = {mark}" for c in cols)
        conn.exec_driver_sql(f"UPDATE {table.name} SET {sets} WHERE id = {mark}", rows)
    return sum(len(rows) for rows in groups.values())
