"""Rewrite the `resumes` read model's documents in today's shape (the resume events' schema
version 3: `locale`, and everything JSON Resume defines, with their defaults), so a resume
written before reads like one written now. The events stay as written: they are upcast when
read (contracts.upcasting), and a rebuild from them gives these same rows.

Revision ID: 0004
Revises: 0003
"""
import json

import sqlalchemy as sa
from alembic import op
from pydantic import ValidationError

from contracts.resume import ResumeDocument

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "resume"
BATCH = 500


def upgrade() -> None:
    connection = op.get_bind()
    after = ""
    while True:
        rows = connection.execute(sa.text(
            f"SELECT id, document FROM {SCHEMA}.resumes WHERE id > :after ORDER BY id "
            "LIMIT :batch"), {"after": after, "batch": BATCH}).all()
        if not rows:
            return
        connection.execute(sa.text(
            f"UPDATE {SCHEMA}.resumes SET document = CAST(:document AS jsonb) WHERE id = :id"),
            [{"id": row.id, "document": json.dumps(_in_todays_shape(row.document))}
             for row in rows])
        after = rows[-1].id


def _in_todays_shape(document: dict) -> dict:
    try:
        return ResumeDocument.model_validate(document).model_dump(mode="json")
    except ValidationError:  # accepted by older code: left as it was rather than lost
        return document


def downgrade() -> None:
    """Not undone in place: the code of revision 0003 refuses documents with the new fields,
    so going back means rebuilding this read model from the events with that code."""
