"""CRM sync: what was sent, so no change is lost and merges move tasks and notes.

- ``crm_outbox.sent_version``: the object's own ``updated_at`` as it was when sent; a done row is
  sent again when the object's differs (whatever the clocks of the workers that wrote them).
- ``crm_outbox.parent_external_id``: the CRM id of the contact a task or note was attached to
  when sent; after a contact merge (or unmerge) it differs, and the row is re-attached.
- ``crm_outbox.pulled_at``: when a contact's deals were last read in full (once, after it is
  first linked; later passes read only the deals the CRM says changed).
- ``crm_state.deals_cursor``: where the CRM's "deals changed since" read stopped (opaque to the
  core, like a channel's cursor).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import socialsell.db.schema

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crm_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_version", socialsell.db.schema.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("parent_external_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("pulled_at", socialsell.db.schema.UTCDateTime(), nullable=True))
    with op.batch_alter_table("crm_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deals_cursor", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crm_state", schema=None) as batch_op:
        batch_op.drop_column("deals_cursor")
    with op.batch_alter_table("crm_outbox", schema=None) as batch_op:
        batch_op.drop_column("pulled_at")
        batch_op.drop_column("parent_external_id")
        batch_op.drop_column("sent_version")
