"""The first-touch deadline on tasks: ``tasks.sla_due_at``; an index on ``deals.task_id``.

``due_at`` says when a task is due next: its first-touch deadline until a next step moves it
(``task next``, ``task log ... --next``). ``sla_due_at`` keeps the first-touch deadline, set when
the task opens and never moved by a next step, so the SLA report judges every first touch
against the deadline it had (docs/reports.md).

Backfill: a task never given a next step still has its deadline in ``due_at``, copied here. A
task moved to a next step before this migration has lost it; it stays null and the report
recomputes its deadline from the task's creation (``sla.response_hours`` in business hours,
which only the workspace's settings know).

``ix_deals_task``: the reports ask of every closed follow-up whether a deal was opened from it
(so its revenue is counted once); without an index each such query scans the deals.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import socialsell.db.schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_due_at", socialsell.db.schema.UTCDateTime(), nullable=True))
    op.execute("UPDATE tasks SET sla_due_at = due_at WHERE next_step_due IS NULL")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index("ix_deals_task", ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_task")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("sla_due_at")
