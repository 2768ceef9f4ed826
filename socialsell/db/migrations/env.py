"""Alembic environment: runs with the Database object socialsell hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from socialsell.db.schema import metadata

config = context.config
database = config.attributes["database"]


def run_migrations_online() -> None:
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            # several workers may start at once: one migrates, the others wait
            conn.execute(text("SELECT pg_advisory_xact_lock(727274001)"))
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=database.is_sqlite)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
