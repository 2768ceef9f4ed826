"""Bring a database to the current schema with Alembic, only when it is behind.

Alembic is imported only when a migration must run, so everyday commands only pay for one
``SELECT`` of ``alembic_version``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.db.engine import Database

#: the newest revision in migrations/versions (a test keeps it equal to Alembic's head)
HEAD = "0008"
MIGRATIONS = Path(__file__).parent / "migrations"


def current_revision(db: Database) -> str | None:
    try:
        with db.read() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None


def alembic_config(db: Database):
    from alembic.config import Config  # noqa: PLC0415 - alembic, only creating or upgrading the database needs it

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["database"] = db
    return cfg


def ensure_schema(db: Database) -> None:
    if current_revision(db) == HEAD:
        return
    upgrade(db)


def upgrade(db: Database, revision: str = "head") -> None:
    from alembic import command  # noqa: PLC0415 - alembic, only creating or upgrading the database needs it

    command.upgrade(alembic_config(db), revision)
