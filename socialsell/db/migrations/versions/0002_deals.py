"""Deals and what started them; the first response and next step on tasks; people data on
handles; reversible contact merges.

- ``deals``: a sales opportunity with one contact (amount, currency, stage, expected close,
  owner, the task and campaign it came from, an external CRM id for a later sync).
- ``deal_posts``: the posts whose engagements by the contact started and moved the
  conversation, fixed when the deal opens, in order (for first/last/linear attribution).
- ``tasks``: ``first_response_at``/``first_response_kind`` (the first touch stops the SLA
  clock), ``next_step``/``next_step_due`` (after it, the task is due at its next step).
- ``handles``: ``bio``, ``verified``, ``location``, ``company``, ``kind`` from the networks.
- ``contact_merges``: each merge with what moved, so it can be undone.

The meaning of every column is in ``socialsell/db/schema.py``.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import socialsell.db.schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deals",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("contact_id", _ID, nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=True),
        sa.Column("currency", sa.String(length=3), server_default="EUR", nullable=False),
        sa.Column("stage", sa.String(length=20), server_default="discovery", nullable=False),
        sa.Column("expected_close", sa.Date(), nullable=True),
        sa.Column("opened_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("closed_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("lost_reason", sa.Text(), nullable=True),
        sa.Column("task_id", _ID, nullable=True),
        sa.Column("campaign_id", _ID, nullable=True),
        sa.Column("source", sa.String(length=50), server_default="socialsell", nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("updated_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_deals_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_deals_task_id_tasks"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_deals_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
        sa.UniqueConstraint("source", "external_id", name="uq_deals_external"),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index("ix_deals_owner_stage", ["owner", "stage"], unique=False)
        batch_op.create_index("ix_deals_contact", ["contact_id"], unique=False)

    op.create_table(
        "deal_posts",
        sa.Column("deal_id", _ID, nullable=False),
        sa.Column("post_id", _ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("first_touch_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("last_touch_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("touches", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_posts_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_deal_posts_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("deal_id", "post_id", name=op.f("pk_deal_posts")),
    )

    op.create_table(
        "contact_merges",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kept_id", _ID, nullable=False),
        sa.Column("merged_id", _ID, nullable=False),
        sa.Column("merged_by", sa.String(length=100), nullable=True),
        sa.Column("merged_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("undone_by", sa.String(length=100), nullable=True),
        sa.Column("undone_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["kept_id"], ["contacts.id"], name=op.f("fk_contact_merges_kept_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"], ["contacts.id"], name=op.f("fk_contact_merges_merged_id_contacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_merges")),
    )
    with op.batch_alter_table("contact_merges", schema=None) as batch_op:
        batch_op.create_index("ix_contact_merges_merged", ["merged_id"], unique=False)

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_response_at", socialsell.db.schema.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("first_response_kind", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("next_step", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("next_step_due", socialsell.db.schema.UTCDateTime(), nullable=True)
        )

    with op.batch_alter_table("handles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bio", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("verified", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("location", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("company", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=True))

    # a task replied to before this revision: its reply was its first response
    op.execute(
        "UPDATE tasks SET first_response_at = replied_at, first_response_kind = 'reply' "
        "WHERE replied_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("handles", schema=None) as batch_op:
        for name in ("kind", "company", "location", "verified", "bio"):
            batch_op.drop_column(name)
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        for name in ("next_step_due", "next_step", "first_response_kind", "first_response_at"):
            batch_op.drop_column(name)
    with op.batch_alter_table("contact_merges", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_merges_merged")
    op.drop_table("contact_merges")
    op.drop_table("deal_posts")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_contact")
        batch_op.drop_index("ix_deals_owner_stage")
    op.drop_table("deals")
