"""Rating jobs in the common job shape (runtime.jobs): `ai.ratings` becomes `ai.jobs`, with the
statuses every job has (`pending` -> `queued`, `completed` -> `succeeded`), the input and the
result as JSON and the reuse key instead of the reusable index. The rows are kept.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

from runtime.jobs import create_job_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "ai"


def upgrade() -> None:
    create_job_table(op, SCHEMA)
    op.execute(f"""
        INSERT INTO "{SCHEMA}".jobs (job_id, kind, stream_version, owner_id, resume_id, status,
                                     reuse_key, input, result, error_code, error,
                                     requested_at, finished_at)
        SELECT job_id, 'rating', stream_version, owner_id, resume_id,
               CASE status WHEN 'pending' THEN 'queued' WHEN 'completed' THEN 'succeeded'
                           ELSE status END,
               CASE WHEN status IN ('pending', 'completed')
                    THEN owner_id || ':' || content_hash || ':' || model || ':'
                         || prompt_version END,
               jsonb_build_object('resume_version', resume_version,
                                  'content_hash', content_hash, 'model', model,
                                  'prompt_version', prompt_version),
               CASE WHEN status <> 'pending'
                    THEN jsonb_build_object('rating', rating, 'model_calls', model_calls) END,
               error_code, error, requested_at, finished_at
        FROM "{SCHEMA}".ratings""")
    op.drop_table("ratings", schema=SCHEMA)  # its trigger goes with it
    op.execute(f'DROP FUNCTION IF EXISTS "{SCHEMA}".notify_rating_finished()')


def downgrade() -> None:
    op.execute(f"""
        CREATE TABLE "{SCHEMA}".ratings (
            job_id text PRIMARY KEY, stream_version integer NOT NULL, owner_id text NOT NULL,
            resume_id text NOT NULL, resume_version integer NOT NULL,
            content_hash text NOT NULL, model text NOT NULL, prompt_version text NOT NULL,
            status text NOT NULL, rating jsonb, error_code text, error text,
            model_calls integer NOT NULL DEFAULT 0, requested_at timestamptz NOT NULL,
            finished_at timestamptz)""")
    op.execute(f"""
        INSERT INTO "{SCHEMA}".ratings
        SELECT job_id, stream_version, owner_id, resume_id, (input->>'resume_version')::int,
               input->>'content_hash', input->>'model', input->>'prompt_version',
               CASE status WHEN 'succeeded' THEN 'completed' WHEN 'failed' THEN 'failed'
                           ELSE 'pending' END,
               result->'rating', error_code, error,
               coalesce((result->>'model_calls')::int, 0), requested_at, finished_at
        FROM "{SCHEMA}".jobs WHERE kind = 'rating'""")
    op.execute(f'DROP TRIGGER IF EXISTS job_finished ON "{SCHEMA}".jobs')
    op.execute(f'DROP FUNCTION IF EXISTS "{SCHEMA}".notify_job_finished()')
    op.drop_table("jobs", schema=SCHEMA)
    op.execute(f'CREATE UNIQUE INDEX ux_ratings_reusable ON "{SCHEMA}".ratings '
               f"(owner_id, content_hash, model, prompt_version) "
               f"WHERE status IN ('pending', 'completed')")
    op.execute(f'CREATE INDEX ix_ratings_resume ON "{SCHEMA}".ratings (resume_id, requested_at)')
    # the trigger of revision 0002, as it was
    op.execute(f'CREATE OR REPLACE FUNCTION "{SCHEMA}".notify_rating_finished() RETURNS trigger '
               f"LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('ai_rating_finished', "
               f"NEW.job_id); RETURN NULL; END $$")
    op.execute(f'CREATE TRIGGER rating_finished AFTER UPDATE OF status ON "{SCHEMA}".ratings '
               f"FOR EACH ROW WHEN (OLD.status = 'pending' AND NEW.status <> 'pending') "
               f'EXECUTE FUNCTION "{SCHEMA}".notify_rating_finished()')
