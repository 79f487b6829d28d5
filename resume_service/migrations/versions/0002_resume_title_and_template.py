"""Title and template as columns of the read model, backfilled from the documents.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "resume"


def upgrade() -> None:
    for column in ("title", "template"):
        op.add_column("resumes", sa.Column(column, sa.Text, nullable=True), schema=SCHEMA)
    op.execute(f"UPDATE {SCHEMA}.resumes SET title = coalesce(document->>'title', ''), "
               f"template = coalesce(document->>'template', '')")
    for column in ("title", "template"):
        op.alter_column("resumes", column, nullable=False, schema=SCHEMA)


def downgrade() -> None:
    for column in ("title", "template"):
        op.drop_column("resumes", column, schema=SCHEMA)
