"""Jobs in the common job shape (runtime.jobs): the job's input and result as JSON, a reuse
key instead of the active-source index, and a trigger that NOTIFYs the long polls when a job
finishes. The rows there are kept.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from runtime.jobs import create_job_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "compile"


def upgrade() -> None:
    _set_aside("jobs", "jobs_0001", ("ux_jobs_active", "ix_jobs_owner"))
    create_job_table(op, SCHEMA)
    op.execute(f"""
        INSERT INTO "{SCHEMA}".jobs (job_id, kind, stream_version, owner_id, resume_id, status,
                                     attempts, reuse_key, input, result, error, requested_at,
                                     started_at, finished_at)
        SELECT job_id, 'compile', stream_version, owner_id, resume_id, status, attempts,
               CASE WHEN status IN ('queued', 'running')
                    THEN resume_id || ':' || resume_version || ':' || template END,
               jsonb_build_object('resume_version', resume_version, 'template', template,
                                  'engine', engine, 'title', title),
               CASE WHEN status IN ('succeeded', 'failed')
                    THEN jsonb_build_object('artifact_key', artifact_key, 'cached', cached,
                                            'engine_ms', engine_ms) END,
               error, requested_at, started_at, finished_at
        FROM "{SCHEMA}".jobs_0001""")
    op.drop_table("jobs_0001", schema=SCHEMA)


def _set_aside(table: str, new_name: str, indexes: tuple[str, ...]) -> None:
    """Rename a table out of the way, with the names its new namesake will take."""
    for index in indexes:
        op.execute(f'DROP INDEX "{SCHEMA}"."{index}"')
    op.execute(f'ALTER TABLE "{SCHEMA}"."{table}" RENAME TO "{new_name}"')
    op.execute(f'ALTER TABLE "{SCHEMA}"."{new_name}" RENAME CONSTRAINT "{table}_pkey" '
               f'TO "{new_name}_pkey"')


def downgrade() -> None:
    op.execute(f'DROP TRIGGER IF EXISTS job_finished ON "{SCHEMA}".jobs')
    op.execute(f'DROP FUNCTION IF EXISTS "{SCHEMA}".notify_job_finished()')
    _set_aside("jobs", "jobs_0002", ("ux_jobs_reuse", "ix_jobs_owner", "ix_jobs_resume"))
    op.execute(f"""
        CREATE TABLE "{SCHEMA}".jobs (
            job_id text PRIMARY KEY, stream_version integer NOT NULL, owner_id text NOT NULL,
            resume_id text NOT NULL, resume_version integer NOT NULL, template text NOT NULL,
            engine text NOT NULL, title text NOT NULL, status text NOT NULL,
            attempts integer NOT NULL DEFAULT 0, artifact_key text,
            cached boolean NOT NULL DEFAULT false, engine_ms integer, error text,
            requested_at timestamptz NOT NULL, started_at timestamptz,
            finished_at timestamptz)""")
    op.execute(f"""
        INSERT INTO "{SCHEMA}".jobs
        SELECT job_id, stream_version, owner_id, resume_id, (input->>'resume_version')::int,
               input->>'template', input->>'engine', input->>'title', status, attempts,
               result->>'artifact_key', coalesce((result->>'cached')::boolean, false),
               (result->>'engine_ms')::int, error, requested_at, started_at, finished_at
        FROM "{SCHEMA}".jobs_0002""")
    op.drop_table("jobs_0002", schema=SCHEMA)
    op.execute(f'CREATE UNIQUE INDEX ux_jobs_active ON "{SCHEMA}".jobs '
               f"(resume_id, resume_version, template) WHERE status IN ('queued', 'running')")
    op.execute(f'CREATE INDEX ix_jobs_owner ON "{SCHEMA}".jobs (owner_id, requested_at)')
