"""The read model's documents gain the `locale` that version 2 of the resume events added:
a document written before it reads as the fold of its events now gives it (`en`, the upcast
of version 1), so GET /resume/{id} answers the field for old resumes too.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "resume"


def upgrade() -> None:
    op.execute(f"UPDATE {SCHEMA}.resumes SET document = document || "
               "jsonb_build_object('locale', 'en') "
               "WHERE jsonb_typeof(document) = 'object' AND NOT document ? 'locale'")


def downgrade() -> None:
    # the code before 0004 refuses a document field it does not know
    op.execute(f"UPDATE {SCHEMA}.resumes SET document = document - 'locale' "
               "WHERE jsonb_typeof(document) = 'object' AND document ? 'locale'")
