"""What the export worker does with one export's request message, run in the test's
process (ops/export_worker.py's work on the real database): for tests that need a finished
export without the worker process."""

from pathlib import Path
from typing import Any

from sqlalchemy import select

from auth_service.exports import build_exports
from auth_service.settings import AuthSettings
from auth_service.tables import event_tables
from compile_service.artifacts import DirectoryStore
from ops.export_worker import ExportWork, collectors
from runtime.db import make_engine
from runtime.eventstore import row_to_envelope
from runtime.jobs import JobRunner


async def run_export(settings: AuthSettings, job_id: str, artifacts: Path,
                     **overrides: Any) -> None:
    """Claim, work and close the export `job_id` (settings `overrides` for the work)."""
    engine = make_engine(settings.database_url)
    try:
        exports = build_exports(settings, engine)
        work = ExportWork(collectors(engine, DirectoryStore(artifacts)), exports.archives,
                          settings.model_copy(update=overrides))
        ev = event_tables.events
        async with engine.connect() as connection:
            row = (await connection.execute(select(ev).where(ev.c.stream_id == job_id))).one()
        await JobRunner(exports.jobs, work, max_attempts=3).handle(row_to_envelope(row))
    finally:
        await engine.dispose()
