"""Baseline: every table of socialsell 0.1.

Until the first release this revision is edited in place to match ``socialsell/db/schema.py``
(tests/test_storage.py fails when they differ). After a release, changes get new revisions.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import socialsell.db.schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("handle", sa.String(length=200), nullable=True),
        sa.Column("remote_user_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("rate_limited_until", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("last_poll_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("last_poll_requests", sa.Integer(), nullable=True),
        sa.Column("last_poll_error", sa.Text(), nullable=True),
        sa.Column("created_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_accounts_name")),
    )
    op.create_table(
        "campaigns",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("goal", sa.Text(), nullable=True),
        sa.Column("persona", sa.Text(), nullable=True),
        sa.Column("starts_on", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("ends_on", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("budget", sa.Float(), nullable=True),
        sa.Column("utm_campaign", sa.String(length=200), nullable=True),
        sa.Column("required_hashtags", sa.JSON(), nullable=True),
        sa.Column("disclaimer", sa.Text(), nullable=True),
        sa.Column("created_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    op.create_table(
        "contacts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("display_name", sa.String(length=300), nullable=True),
        sa.Column("headline", sa.Text(), nullable=True),
        sa.Column("company", sa.String(length=300), nullable=True),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("email", sa.String(length=300), nullable=True),
        sa.Column("stage", sa.String(length=20), server_default="engaged", nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("score", sa.Float(), server_default="0", nullable=False),
        sa.Column("score_explained", sa.JSON(), nullable=True),
        sa.Column(
            "merged_into", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("origin", sa.String(length=400), nullable=True),
        sa.Column("first_seen_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("updated_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["contacts.id"], name=op.f("fk_contacts_merged_into_contacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index("ix_contacts_owner", ["owner"], unique=False)

    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_kind_at", ["kind", "at"], unique=False)

    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("acquired_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("stopped_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("jobs", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    op.create_table(
        "cursors",
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=50), server_default="engagements", nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("updated_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_cursors_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "name", name=op.f("pk_cursors")),
    )
    op.create_table(
        "handles",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("handle", sa.String(length=300), nullable=False),
        sa.Column("remote_user_id", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("profile_url", sa.Text(), nullable=True),
        sa.Column("headline", sa.Text(), nullable=True),
        sa.Column("followers", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_handles_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handles")),
        sa.UniqueConstraint("channel", "handle", name=op.f("uq_handles_channel")),
    )
    with op.batch_alter_table("handles", schema=None) as batch_op:
        batch_op.create_index("ix_handles_contact", ["contact_id"], unique=False)

    op.create_table(
        "posts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("template", sa.String(length=200), nullable=True),
        sa.Column("variables", sa.JSON(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("media", sa.JSON(), nullable=True),
        sa.Column("author", sa.String(length=100), nullable=True),
        sa.Column("recurrence", sa.JSON(), nullable=True),
        sa.Column(
            "recurrence_parent_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("evergreen", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("created_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("updated_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_posts_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["recurrence_parent_id"],
            ["posts.id"],
            name=op.f("fk_posts_recurrence_parent_id_posts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )
    op.create_table(
        "tasks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("priority", sa.Integer(), server_default="3", nullable=False),
        sa.Column("score", sa.Float(), server_default="0", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("intent", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("due_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("snoozed_until", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("first_engagement_id", sa.BigInteger(), nullable=True),
        sa.Column("last_engagement_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("closed_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("replied_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("created_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("updated_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_tasks_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_owner_status", ["owner", "status", "due_at"], unique=False)
        batch_op.create_index(
            "uq_tasks_one_open",
            ["contact_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('open', 'snoozed')"),
            postgresql_where=sa.text("status IN ('open', 'snoozed')"),
        )

    op.create_table(
        "deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("due_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("next_attempt_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("lease_until", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("attempt_id", sa.String(length=64), nullable=True),
        sa.Column("attempt_started_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("remote_id", sa.String(length=200), nullable=True),
        sa.Column("remote_url", sa.Text(), nullable=True),
        sa.Column("published_at", socialsell.db.schema.UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("unknown_cause", sa.String(length=20), nullable=True),
        sa.Column("updated_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_deliveries_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_deliveries_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("post_id", "account_id", name=op.f("uq_deliveries_post_id")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_deliveries_remote", ["account_id", "remote_id"], unique=True)

    op.create_table(
        "notes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("author", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_notes_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_notes_task_id_tasks"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.create_index("ix_notes_contact", ["contact_id"], unique=False)

    op.create_table(
        "sla_alerts",
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_sla_alerts_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", "level", name=op.f("pk_sla_alerts")),
    )
    op.create_table(
        "engagements",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("handle_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("post_remote_id", sa.String(length=200), nullable=True),
        sa.Column("in_reply_to", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("ingested_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("ignored", sa.String(length=50), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_engagements_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_engagements_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_engagements_delivery_id_deliveries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["handle_id"], ["handles.id"], name=op.f("fk_engagements_handle_id_handles")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_engagements_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagements")),
        sa.UniqueConstraint("account_id", "external_id", "kind", name="uq_engagements_once"),
    )
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.create_index("ix_engagements_contact", ["contact_id", "occurred_at"], unique=False)
        batch_op.create_index("ix_engagements_delivery", ["delivery_id"], unique=False)

    op.create_table(
        "post_metrics",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("fetched_at", socialsell.db.schema.UTCDateTime(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=True),
        sa.Column("reach", sa.Integer(), nullable=True),
        sa.Column("likes", sa.Integer(), nullable=True),
        sa.Column("replies", sa.Integer(), nullable=True),
        sa.Column("reposts", sa.Integer(), nullable=True),
        sa.Column("quotes", sa.Integer(), nullable=True),
        sa.Column("clicks", sa.Integer(), nullable=True),
        sa.Column("profile_clicks", sa.Integer(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_post_metrics_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_metrics")),
    )
    with op.batch_alter_table("post_metrics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_post_metrics_delivery", ["delivery_id", "fetched_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("post_metrics", schema=None) as batch_op:
        batch_op.drop_index("ix_post_metrics_delivery")

    op.drop_table("post_metrics")
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_index("ix_engagements_delivery")
        batch_op.drop_index("ix_engagements_contact")

    op.drop_table("engagements")
    op.drop_table("sla_alerts")
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_index("ix_notes_contact")

    op.drop_table("notes")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_remote")
        batch_op.drop_index("ix_deliveries_due")

    op.drop_table("deliveries")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_tasks_one_open",
            sqlite_where=sa.text("status IN ('open', 'snoozed')"),
            postgresql_where=sa.text("status IN ('open', 'snoozed')"),
        )
        batch_op.drop_index("ix_tasks_owner_status")

    op.drop_table("tasks")
    op.drop_table("posts")
    with op.batch_alter_table("handles", schema=None) as batch_op:
        batch_op.drop_index("ix_handles_contact")

    op.drop_table("handles")
    op.drop_table("cursors")
    op.drop_table("workers")
    op.drop_table("leases")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_kind_at")

    op.drop_table("events")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_owner")

    op.drop_table("contacts")
    op.drop_table("campaigns")
    op.drop_table("accounts")
