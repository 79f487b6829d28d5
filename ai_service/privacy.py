"""What ai_service holds about a user, as files of their data export (issue #19; the export
worker, ops/export_worker.py, calls `export_entries`): every rating job with its rating,
every import job with the text read from the file and the document made of it, and each
job's events. Every query is by the owner.

Not exported again: `ai.resume_versions`, this service's copy of the resume versions (the
export has them from resume_service, every version)."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ai_service.domain import IMPORT_JOB, RATING_JOB
from ai_service.tables import event_tables, jobs
from runtime.archive import ArchiveEntry, json_entry, rows_as_dicts, stream_histories


async def export_entries(engine: AsyncEngine, user_id: str) -> list[ArchiveEntry]:
    async with engine.connect() as connection:
        owned = rows_as_dicts(await connection.execute(
            select(jobs).where(jobs.c.owner_id == user_id).order_by(jobs.c.requested_at)))
        histories = await stream_histories(connection, event_tables,
                                           [job["job_id"] for job in owned])
    return [
        json_entry("ai/ratings.json", "every rating job: resume, version, model, status and "
                   "the rating (`result.rating`)",
                   [job for job in owned if job["kind"] == RATING_JOB.name]),
        json_entry("ai/imports.json", "every import job: the file's name and hash, the text "
                   "read from it (`input.text`), and the resume document made of it "
                   "(`result.document`, `result.resume_id`)",
                   [job for job in owned if job["kind"] == IMPORT_JOB.name]),
        json_entry("ai/job_events.json", "each rating and import job's events, by job",
                   histories),
    ]
