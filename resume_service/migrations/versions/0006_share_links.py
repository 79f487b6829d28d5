"""Share links (`shares`, holding the password hash no event carries) and their view
statistics (`share_views`, a read model of ShareViewed).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "resume"
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("resume_id", sa.Text, nullable=False),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("slug", sa.Text, nullable=False, unique=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("options", JSONB, nullable=False),
        sa.Column("expires_at", WHEN, nullable=True),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("hidden", JSONB, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        schema=SCHEMA,
    )
    op.create_index("ix_shares_resume_id", "shares", ["resume_id"], schema=SCHEMA)
    op.create_table(
        "share_views",
        sa.Column("position", sa.BigInteger, primary_key=True),
        sa.Column("share_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("viewer", sa.Text, nullable=False),
        sa.Column("bot", sa.Boolean, nullable=False),
        sa.Column("viewed_at", WHEN, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_share_views_share", "share_views", ["share_id", "viewed_at"],
                    schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("share_views", schema=SCHEMA)
    op.drop_table("shares", schema=SCHEMA)
