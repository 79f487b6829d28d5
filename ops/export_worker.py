"""The account export worker (issue #19): ``python -m ops.export_worker``.

It runs auth_service's export jobs (auth_service/exports.py; queue `auth_service.exports`,
bound to ``auth.ExportRequested``) under the common job lifecycle (runtime.jobs): for one
user it asks each service's `privacy.export_entries` for that service's part (each reads
only its own schema, by the owner, and compile_service's PDFs through its artifact store),
writes them into a zip in a temporary file, one service at a time and a PDF chunk by chunk,
bounded by EXPORT_MAX_BYTES (past it the job fails with `too_large`), and stores the zip in
`auth.account_exports` until EXPORT_KEEP_SECONDS have passed. It lives in ops, the one layer
that imports every service, as the relays and migrations do. Beside the jobs it deletes the
expired archives."""

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO

from sqlalchemy.ext.asyncio import AsyncEngine

from ai_service import privacy as ai_privacy
from auth_service import privacy as auth_privacy
from auth_service.exports import ArchiveStore, build_exports
from auth_service.settings import AuthSettings
from auth_service.tables import erased_users, event_tables
from compile_service import privacy as compile_privacy
from compile_service.artifacts import ArtifactStore, artifact_store
from compile_service.settings import CompileSettings
from contracts.privacy_events import ExportFinished, ExportRequested
from contracts.topology import AUTH_EXPORTS_CONSUMER
from resume_service import privacy as resume_privacy
from runtime.archive import ArchiveEntry, ArchiveTooLarge, ArchiveWriter
from runtime.bus import Consumer, make_broker
from runtime.db import make_engine
from runtime.erasure import ErasedCheck, ErasedUsers, drop_erased
from runtime.jobs import JobRunner, Jobs, JobState, jobs_running
from runtime.lifecycle import run_process
from runtime.observe import observe_process
from runtime.ops import service_checks

log = logging.getLogger(__name__)

Collector = Callable[[str], Awaitable[list[ArchiveEntry]]]
SWEEP_SECONDS = 600.0
TITLE = "Your data"
PREAMBLE = """\
Everything the resume builder holds about you, as of the time of this export. JSON files are
UTF-8; times are ISO 8601 in UTC. A resume's `history.json` holds every version it ever had
(each event carries the whole document it set). PDFs are named by their content address,
which the compile jobs' `result.artifact_key` gives. compile_service and ai_service also
keep copies of your resume versions to work on; they are the documents of `history.json`
and not repeated here. Sessions (in Redis, under a hash of their id) and read caches expire
by themselves and are not exported."""


def collectors(engine: AsyncEngine, artifacts: ArtifactStore) -> list[Collector]:
    """Each service's part, in the archive's order."""
    return [lambda user: auth_privacy.export_entries(engine, user),
            lambda user: resume_privacy.export_entries(engine, user),
            lambda user: compile_privacy.export_entries(engine, artifacts, user),
            lambda user: ai_privacy.export_entries(engine, user)]


class ExportWork:
    """Write the user's archive and store it; the job's outcome."""

    def __init__(self, parts: Sequence[Collector], archives: ArchiveStore,
                 settings: AuthSettings) -> None:
        self.parts, self.archives, self.settings = parts, archives, settings

    async def prepare(self, requested: ExportRequested) -> None:
        return None

    async def run(self, job: JobState, requested: ExportRequested, _: None) -> ExportFinished:
        expires_at = datetime.now(UTC) + timedelta(seconds=self.settings.export_keep_seconds)
        with tempfile.TemporaryFile() as target:
            try:
                files = await self.write(target, requested.owner_id)
            except ArchiveTooLarge as exc:
                return ExportFinished(job_id=job.job_id, outcome="failed",
                                      error_code="too_large", error=str(exc))
            target.seek(0)
            stored = await self.archives.save(job.job_id, requested.owner_id, target,
                                              expires_at)
        return ExportFinished(job_id=job.job_id, outcome="succeeded",
                              size_bytes=stored.size_bytes, files=files, sha256=stored.sha256,
                              expires_at=expires_at)

    async def write(self, target: IO[bytes], user_id: str) -> int:
        """The archive of `user_id` into `target`; the number of files. One service's part
        is in memory at a time (PDFs not even that: they are copied in chunks)."""
        with ArchiveWriter(target, self.settings.export_max_bytes) as writer:
            for part in self.parts:
                for entry in await part(user_id):
                    await writer.add(entry)
            return writer.finish(TITLE, PREAMBLE)


async def sweep_expired(archives: ArchiveStore, every_seconds: float = SWEEP_SECONDS) -> None:
    while True:
        try:
            deleted = await archives.delete_expired()
            if deleted:
                log.info("deleted %d expired export archive(s)", deleted)
        except Exception as exc:  # the database may be away for a while: try again later
            log.warning("export archive sweep failed: %r", exc)
        await asyncio.sleep(every_seconds)


@contextlib.asynccontextmanager
async def in_background(work: Awaitable[None]) -> AsyncIterator[None]:
    task = asyncio.ensure_future(work)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def exports_consumer(jobs: Jobs, work: ExportWork, settings: AuthSettings,
                     erased: ErasedCheck) -> Consumer:
    """One export at a time per worker: an export is long, and mostly waits on PostgreSQL.
    An export asked for just before its user was erased is dropped, never made."""
    return drop_erased(JobRunner(jobs, work, settings.consumer_max_attempts).consumer(
        AUTH_EXPORTS_CONSUMER, prefetch=1), erased)


async def run_worker(settings: AuthSettings, compile_settings: CompileSettings) -> None:
    engine, broker = make_engine(settings.database_url), make_broker(settings.amqp_url)
    exports = build_exports(settings, engine)
    pdfs = artifact_store(compile_settings.artifact_store, compile_settings.artifacts_dir,
                          engine)
    work = ExportWork(collectors(engine, pdfs), exports.archives, settings)
    consumer = exports_consumer(exports.jobs, work, settings, ErasedUsers(engine, erased_users))
    try:
        async with (jobs_running("auth_service", settings, broker, [consumer], event_tables,
                                 service_checks(engine, broker), exports.jobs, waits=False,
                                 works=True),
                    in_background(sweep_expired(exports.archives))):
            await asyncio.Event().wait()
    finally:
        await engine.dispose()


def _main() -> None:
    settings = AuthSettings()
    observe_process("auth_service", settings)  # JSON logs
    run_process(run_worker(settings, CompileSettings()))


if __name__ == "__main__":
    _main()
