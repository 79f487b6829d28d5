"""NOTIFY the long polls when a rating job leaves `pending`, from the database itself: the
closing transaction needs no statement of its own for it, and the waiters hear it on commit.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "ai"
CHANNEL = "ai_rating_finished"  # ai_service.service.FINISHED_CHANNEL


def upgrade() -> None:
    op.execute(f'CREATE OR REPLACE FUNCTION "{SCHEMA}".notify_rating_finished() RETURNS trigger '
               f"LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('{CHANNEL}', NEW.job_id); "
               f"RETURN NULL; END $$")
    op.execute(f'CREATE TRIGGER rating_finished AFTER UPDATE OF status ON "{SCHEMA}".ratings '
               f"FOR EACH ROW WHEN (OLD.status = 'pending' AND NEW.status <> 'pending') "
               f'EXECUTE FUNCTION "{SCHEMA}".notify_rating_finished()')


def downgrade() -> None:
    op.execute(f'DROP TRIGGER IF EXISTS rating_finished ON "{SCHEMA}".ratings')
    op.execute(f'DROP FUNCTION IF EXISTS "{SCHEMA}".notify_rating_finished()')
