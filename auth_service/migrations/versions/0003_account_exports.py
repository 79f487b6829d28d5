"""Account exports (issue #19): the `jobs` read model of the export job (runtime.jobs, with
its finish trigger for long polls) and the stored archives, `account_exports` and its
`account_export_chunks` (deleted with their row). The erasure of a user deletes that user's
rows of `account_exports`.

Named 0003 beside the erasure's 0002 (built at the same time); it follows 0001 until the
two are chained at merge.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from runtime.jobs import create_job_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "auth"


def upgrade() -> None:
    create_job_table(op, SCHEMA)
    op.create_table(
        "account_exports",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("owner_id", sa.Text, nullable=False, index=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
        schema=SCHEMA,
    )
    op.create_table(
        "account_export_chunks",
        sa.Column("job_id", sa.Text,
                  sa.ForeignKey(f"{SCHEMA}.account_exports.job_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        schema=SCHEMA,
    )
    # chunks are already compressed (zip): no point in TOAST compressing them again
    op.execute(f'ALTER TABLE "{SCHEMA}".account_export_chunks '
               "ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("account_export_chunks", schema=SCHEMA)
    op.drop_table("account_exports", schema=SCHEMA)
    op.execute(f'DROP TABLE "{SCHEMA}".jobs')
    op.execute(f'DROP FUNCTION IF EXISTS "{SCHEMA}".notify_job_finished()')
