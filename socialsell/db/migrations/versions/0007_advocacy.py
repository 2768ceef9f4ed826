"""Advocacy: reps share brand posts from their own accounts (docs/advocacy.md).

- ``posts.shareable``, ``posts.suggested_comment``: marketing marks a post shareable, with a
  comment reps may use.
- ``campaigns.shareable``: the campaign's default for its posts.
- ``shares``: one row per rep's share, beside the delivery that publishes it on the rep's account.

The meaning of every column is in ``socialsell/db/schema.py``.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import socialsell.db.schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shareable", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shareable", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch_op.add_column(sa.Column("suggested_comment", sa.Text(), nullable=True))
    op.create_table(
        "shares",
        sa.Column("delivery_id", _ID, nullable=False),
        sa.Column("rep", sa.String(length=100), nullable=False),
        sa.Column("target_delivery_id", _ID, nullable=True),
        sa.Column("target_remote_id", sa.String(length=200), nullable=True),
        sa.Column("target_url", sa.Text(), nullable=True),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], name=op.f("fk_shares_delivery_id_deliveries"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_delivery_id"], ["deliveries.id"],
                                name=op.f("fk_shares_target_delivery_id_deliveries"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_shares")),
    )
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.create_index("ix_shares_rep", ["rep"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.drop_index("ix_shares_rep")
    op.drop_table("shares")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("suggested_comment")
        batch_op.drop_column("shareable")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("shareable")
