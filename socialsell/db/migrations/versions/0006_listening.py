"""Listening: the signals streams found, each stream's cursors and its monthly spend.

- ``signals``: one row per (account, post) a search found, with its score, status and insight.
- ``listen_cursors``: each stream's search cursor per account, committed with its matches.
- ``listen_spend``: reads and requests per stream and UTC month, against the budget.

The meaning of every column is in ``socialsell/db/schema.py``; the behaviour in docs/listening.md.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import socialsell.db.schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "signals",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("handle", sa.String(length=300), nullable=False),
        sa.Column("person", sa.JSON(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("lang", sa.String(length=10), nullable=True),
        sa.Column("thread_id", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("found_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("term", sa.String(length=300), nullable=True),
        sa.Column("points", sa.Float(), server_default="0", nullable=False),
        sa.Column("score_lines", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="new", nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("task_id", _ID, nullable=True),
        sa.Column("insight", sa.Text(), nullable=True),
        sa.Column("insight_about", sa.String(length=20), nullable=True),
        sa.Column("tagged_by", sa.String(length=100), nullable=True),
        sa.Column("tagged_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("replied_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_signals_account_id_accounts")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_signals_task_id_tasks"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint("account_id", "external_id", name="uq_signals_once"),
    )
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.create_index("ix_signals_status", ["status", "points"], unique=False)
        batch_op.create_index("ix_signals_stream", ["stream", "found_at"], unique=False)

    op.create_table(
        "listen_cursors",
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("last_run_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("last_error", socialsell.db.schema.RedactedText(), nullable=True),
        sa.Column("updated_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_listen_cursors_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("stream", "account_id", name=op.f("pk_listen_cursors")),
    )
    op.create_table(
        "listen_spend",
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("reads", sa.Integer(), server_default="0", nullable=False),
        sa.Column("requests", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("stream", "month", name=op.f("pk_listen_spend")),
    )


def downgrade() -> None:
    op.drop_table("listen_spend")
    op.drop_table("listen_cursors")
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.drop_index("ix_signals_stream")
        batch_op.drop_index("ix_signals_status")
    op.drop_table("signals")
