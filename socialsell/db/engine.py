"""Connecting to the database: SQLite (WAL, ``BEGIN IMMEDIATE``) or PostgreSQL.

SQLite write transactions start with ``BEGIN IMMEDIATE`` so that several workers on one
machine queue on the busy timeout instead of failing with SQLITE_BUSY in the middle of a
read-then-write. Reads (``Database.read()``) start a deferred transaction and never block
writers (WAL). ``synchronous=FULL`` because the move to ``sending`` must survive power loss.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError

from socialsell.db.schema import use_postgresql_options
from socialsell.errors import ConfigError, RuntimeFailure
from socialsell.redact import redact_url

BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = -65536  # negative: KiB, not pages


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        _create_private(url)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            # 64 MiB of page cache (SQLite's default is 2 MiB): ingest's batch writes touch the
            # engagement indexes all over; with the default a big batch spills to the WAL mid-
            # transaction and re-reads pages (bench/bench_ingest.py)
            cur.execute(f"PRAGMA cache_size={CACHE_KIB}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            if conn.get_execution_options().get("read_only"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgres"):
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]

        use_postgresql_options()
        try:
            return create_engine(url, pool_pre_ping=True, **kwargs)
        except ModuleNotFoundError:
            raise ConfigError("database", None, "PostgreSQL needs the driver: pip install 'socialsell[postgres]'") from None
    raise ConfigError("database", None, f"unsupported database URL scheme in {redact_url(url)!r}: use sqlite:/// or postgresql://")


def _create_private(url: str) -> None:
    """Create a new SQLite file 0600 before SQLite does (it would follow the umask, often 0644);
    SQLite gives its -wal and -shm files the database file's mode."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:") or os.path.exists(path):
        return
    with contextlib.suppress(OSError):  # a folder that does not exist: SQLite says so in one line
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _missing_folder(url: str) -> bool:
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return False
    return not os.path.isdir(os.path.dirname(os.path.abspath(path)))


class Database:
    """One database: the engine plus the transaction helpers every module uses."""

    def __init__(self, url: str, *, migrate: bool = True, **engine_kwargs: Any):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.dialect = self.engine.dialect.name
        try:  # fail here, in one line, rather than deep inside a migration or a query
            with self.engine.connect():
                pass
        except OperationalError as e:
            reason = str(e.orig).strip().splitlines()[0] if e.orig else str(e).splitlines()[0]
            if self.is_sqlite and _missing_folder(url):  # a path the user typed wrong: bad input
                raise ConfigError("database", None, f"cannot open {redact_url(url)}: its folder does not exist") from None
            raise RuntimeFailure(f"cannot open the database {redact_url(url)}: {reason}") from None
        if migrate:
            from socialsell.db.migrate import ensure_schema  # noqa: PLC0415 - `socialsell templates list` (a read command) does not load socialsell.db.migrate; kept off its path

            ensure_schema(self)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def insert(self, table: Any) -> Any:
        """An INSERT in this database's dialect, so it takes ``on_conflict_do_nothing`` /
        ``on_conflict_do_update`` (SQLite and PostgreSQL spell ON CONFLICT alike)."""
        # imported here: the PostgreSQL dialect costs ~130 ms at import (measured with -X
        # importtime), which a SQLite read command must not pay
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert  # noqa: PLC0415 - the dialect's insert, picked per database (both are named insert)
        else:
            from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415 - the dialect's insert, picked per database (both are named insert)
        return insert(table)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OSError as e:  # pragma: no cover - disk problems
            raise RuntimeFailure(f"database {redact_url(self.url)}: {e}") from None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction that never blocks writers."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(read_only=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    def server_version(self) -> str:
        with self.read() as conn:
            if self.is_sqlite:
                return "SQLite " + conn.execute(text("select sqlite_version()")).scalar_one()
            return conn.execute(text("show server_version")).scalar_one()
