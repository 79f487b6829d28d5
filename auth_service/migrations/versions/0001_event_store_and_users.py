"""Event store, outbox (woken by a trigger) and the users read model.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from runtime.migrations import create_event_store, create_outbox_notify_trigger

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "auth"


def upgrade() -> None:
    create_event_store(op, SCHEMA)
    create_outbox_notify_trigger(op, SCHEMA)
    op.create_table(
        "users",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("picture", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("issuer", "subject"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("users", schema=SCHEMA)
    op.execute(f'DROP TRIGGER IF EXISTS outbox_notify ON "{SCHEMA}".outbox')
    op.execute(f'DROP FUNCTION IF EXISTS "{SCHEMA}".notify_outbox()')
    for table in ("outbox", "processed_events", "events"):
        op.drop_table(table, schema=SCHEMA)
