"""Storage on SQLite and a real PostgreSQL server: migrations, constraints, WAL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from socialsell.db import schema as t
from socialsell.db.engine import Database, redact_url
from socialsell.db.migrate import HEAD, MIGRATIONS, alembic_config, current_revision

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_head_constant_matches_alembic(tmp_path):
    from alembic.script import ScriptDirectory

    db = Database(f"sqlite:///{tmp_path}/x.db", migrate=False)
    script = ScriptDirectory.from_config(alembic_config(db))
    assert script.get_current_head() == HEAD
    assert MIGRATIONS.is_dir()


def test_migration_creates_exactly_the_schema(db_url, workspace):
    """The baseline migration and schema.py must not drift apart (on both databases)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = db_url or f"sqlite:///{workspace.parent / 'socialsell.db'}"
    db = Database(url)
    assert current_revision(db) == HEAD
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diff == []
    assert set(inspect(db.engine).get_table_names()) >= set(t.metadata.tables)
    db.dispose()


def test_sqlite_is_wal_with_full_sync(workspace):
    db = Database(f"sqlite:///{workspace.parent / 'socialsell.db'}")
    with db.read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.dispose()


def test_engagement_is_unique_per_account_external_id_and_kind(db_url, make_app):
    app = make_app(db_url)
    account_id = app.account_id("sandbox")
    row = dict(account_id=account_id, external_id="e1", kind="like", occurred_at=NOW, ingested_at=NOW)
    with app.db.write() as conn:
        conn.execute(insert(t.engagements).values(**row))
        conn.execute(insert(t.engagements).values(**{**row, "kind": "reply"}))  # another kind: fine
    with pytest.raises(IntegrityError), app.db.write() as conn:
        conn.execute(insert(t.engagements).values(**row))


def test_one_open_task_per_contact(db_url, make_app):
    app = make_app(db_url)
    with app.db.write() as conn:
        cid = conn.execute(insert(t.contacts).values(first_seen_at=NOW, last_seen_at=NOW, updated_at=NOW)).inserted_primary_key[0]
        task = dict(contact_id=cid, status="open", due_at=NOW, created_at=NOW, updated_at=NOW)
        conn.execute(insert(t.tasks).values(**{**task, "status": "done"}))
        conn.execute(insert(t.tasks).values(**task))
    with pytest.raises(IntegrityError), app.db.write() as conn:
        conn.execute(insert(t.tasks).values(**{**task, "status": "snoozed"}))


def test_times_round_trip_as_aware_utc(db_url, make_app):
    app = make_app(db_url)
    with app.db.write() as conn:
        app.record(conn, "test.event", "x")
    with app.db.read() as conn:
        at = conn.execute(select(t.events.c.at)).scalar()
    assert at == app.now() and at.tzinfo is not None


def test_naive_datetimes_are_refused(make_app):
    app = make_app()
    with pytest.raises(Exception, match="naive"), app.db.write() as conn:
        conn.execute(insert(t.events).values(at=datetime(2026, 1, 1), kind="x"))


def test_redact_url_hides_the_password():
    assert redact_url("postgresql+psycopg://user:s3cret@db/x") == "postgresql+psycopg://user:***@db/x"
    assert "s3cret" not in redact_url("postgresql://u:s3cret@h:5432/d")


def test_0002_upgrades_a_0001_database_and_downgrades(db_url, workspace):
    """A database made at 0001 with a replied task upgrades to 0002 (the reply becomes the first
    response) and goes back down cleanly, on both databases."""
    from socialsell.db.migrate import upgrade

    url = db_url or f"sqlite:///{workspace.parent / 'old.db'}"
    db = Database(url, migrate=False)
    upgrade(db, "0001")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contacts (id, stage, score, first_seen_at, last_seen_at, updated_at) "
                "VALUES (1, 'engaged', 0, :t, :t, :t)"
            ),
            {"t": NOW.replace(tzinfo=None)},
        )
        for tid, replied in ((1, NOW.replace(tzinfo=None)), (2, None)):
            conn.execute(
                text(
                    "INSERT INTO tasks (id, contact_id, status, priority, score, intent, due_at, "
                    "replied_at, created_at, updated_at) VALUES (:id, 1, 'done', 3, 0, false, :t, :r, :t, :t)"
                ),
                {"id": tid, "t": NOW.replace(tzinfo=None), "r": replied},
            )
    upgrade(db, "head")
    assert current_revision(db) == HEAD
    with db.read() as conn:
        rows = conn.execute(
            select(
                t.tasks.c.id, t.tasks.c.first_response_at, t.tasks.c.first_response_kind
            ).order_by(t.tasks.c.id)
        ).all()
    assert rows == [(1, NOW, "reply"), (2, None, None)]
    from alembic import command

    command.downgrade(alembic_config(db), "0001")
    assert current_revision(db) == "0001"
    assert "deals" not in inspect(db.engine).get_table_names()
    db.dispose()


def test_0003_adds_the_crm_outbox_and_downgrades(db_url, workspace):
    """0002 -> 0003 adds crm_outbox and crm_state; going back to 0002 removes exactly them."""
    from alembic import command

    from socialsell.db.migrate import upgrade

    url = db_url or f"sqlite:///{workspace.parent / 'old3.db'}"
    db = Database(url, migrate=False)
    upgrade(db, "0002")
    assert "crm_outbox" not in inspect(db.engine).get_table_names()
    upgrade(db, "0003")
    assert {"crm_outbox", "crm_state"} <= set(inspect(db.engine).get_table_names())
    command.downgrade(alembic_config(db), "0002")
    names = set(inspect(db.engine).get_table_names())
    assert "crm_outbox" not in names and "crm_state" not in names and "deals" in names
    db.dispose()


def test_0008_adds_the_crm_versions_and_downgrades(db_url, workspace):
    """0003 -> 0008 adds the outbox's sent version, parent and pull time and the deals cursor;
    going back to 0003 removes exactly them."""
    from alembic import command

    from socialsell.db.migrate import upgrade

    url = db_url or f"sqlite:///{workspace.parent / 'old8.db'}"
    db = Database(url, migrate=False)
    upgrade(db, "0003")
    upgrade(db, "0008")
    columns = {c["name"] for c in inspect(db.engine).get_columns("crm_outbox")}
    assert {"sent_version", "parent_external_id", "pulled_at"} <= columns
    assert "deals_cursor" in {c["name"] for c in inspect(db.engine).get_columns("crm_state")}
    command.downgrade(alembic_config(db), "0003")
    inspector = inspect(db.engine)
    assert not {"sent_version", "parent_external_id", "pulled_at"} & {c["name"] for c in inspector.get_columns("crm_outbox")}
    assert "deals_cursor" not in {c["name"] for c in inspector.get_columns("crm_state")}
    db.dispose()


def test_0006_adds_the_listening_tables_and_downgrades(db_url, workspace):
    """0003 -> 0006 adds signals, listen_cursors and listen_spend; back to 0003 removes exactly them."""
    from alembic import command

    from socialsell.db.migrate import upgrade

    url = db_url or f"sqlite:///{workspace.parent / 'old6.db'}"
    db = Database(url, migrate=False)
    upgrade(db, "0003")
    listening = {"signals", "listen_cursors", "listen_spend"}
    assert not listening & set(inspect(db.engine).get_table_names())
    upgrade(db, "0006")
    assert listening <= set(inspect(db.engine).get_table_names())
    command.downgrade(alembic_config(db), "0003")
    names = set(inspect(db.engine).get_table_names())
    assert not listening & names and "crm_outbox" in names
    db.dispose()


def test_0004_adds_the_kept_score_and_downgrades(db_url, workspace):
    """0003 -> 0004 adds contacts.score_points (0 for existing contacts) and scored_at (NULL: kept
    from the history at the next touch); going back to 0003 removes exactly them."""
    from alembic import command

    from socialsell.db.migrate import upgrade

    url = db_url or f"sqlite:///{workspace.parent / 'old4.db'}"
    db = Database(url, migrate=False)
    upgrade(db, "0003")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO contacts (id, stage, score, first_seen_at, last_seen_at, updated_at) "
                          "VALUES (1, 'engaged', 7.5, :t, :t, :t)"), {"t": NOW.replace(tzinfo=None)})
    upgrade(db, "0004")
    with db.read() as conn:
        assert conn.execute(select(t.contacts.c.score, t.contacts.c.score_points, t.contacts.c.scored_at)).one() == (7.5, 0.0, None)
    command.downgrade(alembic_config(db), "0003")
    columns = {c["name"] for c in inspect(db.engine).get_columns("contacts")}
    assert "score_points" not in columns and "scored_at" not in columns and "score" in columns
    db.dispose()
