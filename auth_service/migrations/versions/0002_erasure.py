"""Account erasure: `erasures` (one row per erasure asked for), `erasure_progress` (each
service's report, by ErasureCompleted) and `erased_users` (runtime.erasure; docs/
architecture.md, Privacy).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from runtime.erasure import create_erased_users

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "auth"
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_erased_users(op, SCHEMA)
    op.create_table(
        "erasures",
        sa.Column("erasure_id", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Text, nullable=False, index=True),
        sa.Column("requested_at", WHEN, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "erasure_progress",
        sa.Column("erasure_id", sa.Text, primary_key=True),
        sa.Column("service", sa.Text, primary_key=True),
        sa.Column("completed_at", WHEN, nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("erasure_progress", "erasures", "erased_users"):
        op.drop_table(table, schema=SCHEMA)
