"""Wake the outbox relay from a trigger instead of an explicit NOTIFY per append.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

from runtime.migrations import create_outbox_notify_trigger

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "resume"


def upgrade() -> None:
    create_outbox_notify_trigger(op, SCHEMA)


def downgrade() -> None:
    op.execute(f'DROP TRIGGER IF EXISTS outbox_notify ON "{SCHEMA}".outbox')
    op.execute(f'DROP FUNCTION IF EXISTS "{SCHEMA}".notify_outbox()')
