"""Incremental scores: each contact keeps its engagement points decayed to a stored time.

- ``contacts.score_points``: the sum of the contact's engagement points, each decayed by
  ``[leads] half_life_days`` from when it happened to ``scored_at`` (profile fit not included).
- ``contacts.scored_at``: when ``score_points`` was computed; NULL for a contact scored before
  this revision, whose points are computed once from its history the next time it is touched.

Ingest adds a new engagement's points to the stored sum decayed to now, instead of re-reading
the contact's whole history (docs/sales.md, "How a score is kept").

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import socialsell.db.schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("score_points", sa.Float(), server_default="0", nullable=False))
        batch.add_column(sa.Column("scored_at", socialsell.db.schema.UTCDateTime(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not batch mode's copy of the table: dropping
    # the old contacts table would break the foreign keys of tasks, engagements and handles
    with op.batch_alter_table("contacts", recreate="never") as batch:
        batch.drop_column("scored_at")
        batch.drop_column("score_points")
