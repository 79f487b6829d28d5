"""The artifact store in PostgreSQL (compile_service.artifacts.PostgresStore): one row per
content key in `artifacts` (size and chunk count once the PDF is complete, its figures, the
PNG of its page 1) and the PDF's bytes in `artifact_chunks`, so that every compile worker and
HTTP instance reaches every PDF. PDFs in a local ARTIFACTS_DIR are not moved: they are
derived data, compiled again on the next ask.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "compile"


def upgrade() -> None:
    op.create_table(
        "artifacts",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("size", sa.BigInteger),
        sa.Column("chunk_count", sa.Integer),
        sa.Column("figures", JSONB),
        sa.Column("preview", sa.LargeBinary),
        sa.Column("stored_at", sa.DateTime(timezone=True)),
        schema=SCHEMA)
    op.create_table(
        "artifact_chunks",
        sa.Column("key", sa.Text, sa.ForeignKey(f"{SCHEMA}.artifacts.key", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        schema=SCHEMA)
    # the chunks are compressed PDF streams already: TOAST's compression would only cost
    op.execute(f'ALTER TABLE "{SCHEMA}".artifact_chunks ALTER COLUMN data SET STORAGE EXTERNAL')


def downgrade() -> None:
    op.drop_table("artifact_chunks", schema=SCHEMA)
    op.drop_table("artifacts", schema=SCHEMA)
