"""Event store, outbox, the ratings read model and the resume replica.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from runtime.migrations import create_event_store
from runtime.replica import create_resume_replica

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "ai"


def upgrade() -> None:
    create_event_store(op, SCHEMA)
    create_resume_replica(op, SCHEMA)
    op.create_table(
        "ratings",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("resume_id", sa.Text, nullable=False),
        sa.Column("resume_version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("prompt_version", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("rating", JSONB, nullable=True),
        sa.Column("error_code", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("model_calls", sa.Integer, nullable=False, server_default="0"),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.create_index("ux_ratings_reusable", "ratings",
                    ["owner_id", "content_hash", "model", "prompt_version"], unique=True,
                    schema=SCHEMA,
                    postgresql_where=sa.text("status IN ('pending', 'completed')"))
    op.create_index("ix_ratings_resume", "ratings", ["resume_id", "requested_at"],
                    schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("ratings", schema=SCHEMA)
    op.drop_table("resume_versions", schema=SCHEMA)
    for table in ("outbox", "processed_events", "events"):
        op.drop_table(table, schema=SCHEMA)
