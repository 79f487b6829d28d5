"""Event store, outbox and the resumes read model.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from runtime.migrations import create_event_store

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "resume"


def upgrade() -> None:
    create_event_store(op, SCHEMA)
    op.create_table(
        "resumes",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.create_index("ix_resumes_owner_updated", "resumes", ["owner_id", "updated_at"],
                    schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("resumes", schema=SCHEMA)
    for table in ("outbox", "processed_events", "events"):
        op.drop_table(table, schema=SCHEMA)
