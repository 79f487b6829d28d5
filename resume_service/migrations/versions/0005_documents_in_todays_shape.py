"""Rewrite the `resumes` read model's documents in today's shape (the resume events' schema
version 3: everything JSON Resume defines, with their defaults), so a resume written before
reads like one written now. The events stay as written: they are upcast when read
(contracts.upcasting), and a rebuild from them gives these same rows.

Revision ID: 0005
Revises: 0004
"""
import json

import sqlalchemy as sa
from alembic import op

from contracts.resume_events import document_in_todays_shape

revision = "0005"
down_revision = "0004"
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
            [{"id": row.id, "document": json.dumps(document_in_todays_shape(row.document))}
             for row in rows])
        after = rows[-1].id


def downgrade() -> None:
    """Not undone in place: the code of revision 0004 refuses documents with the new fields,
    so going back means rebuilding this read model from the events with that code."""
