"""CRM sync: an outbox row per change for a CRM, and each CRM's sync state.

- ``crm_outbox``: one row per (crm, kind, local id), the CRM's id stored once it has the object.
- ``crm_state``: paused (refused credentials), rate limited until, last sync, per CRM.

The meaning of every column is in ``socialsell/db/schema.py``; the protocol in docs/crm.md.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import socialsell.db.schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "crm_outbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("crm", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("local_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("attempt_started_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("next_attempt_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("synced_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("created_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("updated_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_outbox")),
        sa.UniqueConstraint("crm", "kind", "local_id", name="uq_crm_outbox_key"),
    )
    with op.batch_alter_table("crm_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_crm_outbox_status", ["crm", "status", "next_attempt_at"], unique=False)

    op.create_table(
        "crm_state",
        sa.Column("crm", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("rate_limited_until", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("last_sync_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_deals_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("updated_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("crm", name=op.f("pk_crm_state")),
    )


def downgrade() -> None:
    op.drop_table("crm_state")
    with op.batch_alter_table("crm_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_outbox_status")
    op.drop_table("crm_outbox")
