"""Event store, outbox, the jobs read model and the resume replica.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from runtime.migrations import create_event_store
from runtime.replica import create_resume_replica

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "compile"


def upgrade() -> None:
    create_event_store(op, SCHEMA)
    create_resume_replica(op, SCHEMA)
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("resume_id", sa.Text, nullable=False),
        sa.Column("resume_version", sa.Integer, nullable=False),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("engine", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("artifact_key", sa.Text, nullable=True),
        sa.Column("cached", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("engine_ms", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.create_index("ux_jobs_active", "jobs", ["resume_id", "resume_version", "template"],
                    unique=True, schema=SCHEMA,
                    postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.create_index("ix_jobs_owner", "jobs", ["owner_id", "requested_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("jobs", schema=SCHEMA)
    op.drop_table("resume_versions", schema=SCHEMA)
    for table in ("outbox", "processed_events", "events"):
        op.drop_table(table, schema=SCHEMA)
