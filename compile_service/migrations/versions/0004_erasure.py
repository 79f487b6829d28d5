"""Account erasure: `erased_users`, whose events this service's consumers drop
(runtime.erasure; docs/architecture.md, Privacy).

Revision ID: 0004
Revises: 0003
"""
from alembic import op

from runtime.erasure import create_erased_users

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "compile"


def upgrade() -> None:
    create_erased_users(op, SCHEMA)


def downgrade() -> None:
    op.drop_table("erased_users", schema=SCHEMA)
