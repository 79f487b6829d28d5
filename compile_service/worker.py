"""The consumers of compile_service, and the standalone worker process.

- `compile_service.jobs` (work queue, binds ``compile.CompileRequested``): many workers,
  prefetch = COMPILE_CONCURRENCY, each message its own job run by runtime.jobs.JobRunner
  (claim, compile, close; duplicates and redeliveries are harmless). An infrastructure
  failure (engine missing, store down) raises: the message is retried and, on its last
  attempt, the job is closed as failed and the message goes to `compile_service.jobs.dlq`.
- `compile_service.resumes` (the resume replica, runtime.replica): relies on every resume
  event carrying the whole document, so order and duplicates do not matter; it writes what
  is waiting in batches (runtime.consumers.BatchConsumer).

Run a worker on its own: ``python -m compile_service.worker``.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

from compile_service.compiler import Compiler, Prepared
from compile_service.metrics import observe_compile
from compile_service.rendering import TYPST_ENGINE
from compile_service.service import CompileService
from compile_service.settings import CompileSettings
from compile_service.tables import erased_users, event_tables, resume_replica
from compile_service.typesetting.sandbox import sweep_stale_runs
from compile_service.wiring import Components, build
from contracts.compile_events import CompileFinished, CompileRequested
from contracts.topology import COMPILE_JOBS_CONSUMER, COMPILE_RESUMES_CONSUMER
from runtime.bus import Consumer, make_broker
from runtime.erasure import ErasedUsers, drop_erased
from runtime.jobs import JobRunner, JobState, jobs_running
from runtime.lifecycle import run_process
from runtime.observe import observe_process
from runtime.ops import service_checks
from runtime.replica import resume_replica_consumer

DELETED = "the resume was deleted before it compiled"


@dataclass(frozen=True)
class Started:
    """A job's rendered source, and its compile when that began while the claim was
    recorded."""

    prepared: Prepared
    at: float  # perf_counter when its compile began, or was ready to
    compiling: "asyncio.Future[CompileFinished] | None" = None
    stored: CompileFinished | None = None  # its PDF was found stored already


class CompileWork:
    """Render the job's resume version (while the claim is recorded) and compile it. A
    Typst job compiles while its claim is recorded, too: a render cannot be stopped anyway
    (a cancel only drops its outcome), and the claim's round trips are off its path. A
    LaTeX job starts pdflatex only once claimed, so a cancel can kill it; its look in the
    artifact store is made while the claim is recorded."""

    def __init__(self, service: CompileService, compiler: Compiler) -> None:
        self.service, self.compiler = service, compiler

    async def prepare(self, request: CompileRequested) -> Started | None:
        """The rendered source, or None when the resume was deleted meanwhile."""
        document = await self.service.document_at(request.owner_id, request.resume_id,
                                                  request.resume_version, request.hidden)
        if document is None:
            return None
        prepared = self.compiler.prepare(request.template, document, request.options)
        if prepared.engine.name != TYPST_ENGINE:
            stored = await self.compiler.from_store(request.job_id, prepared.key)
            return Started(prepared, time.perf_counter(), stored=stored)
        compiling = asyncio.ensure_future(self.compiler.run(request.job_id, prepared))
        compiling.add_done_callback(_retrieved)  # a job found finished never awaits it
        return Started(prepared, time.perf_counter(), compiling)

    async def run(self, job: JobState, request: CompileRequested,
                  started: Started | None) -> CompileFinished:
        if started is None:
            return CompileFinished(job_id=job.job_id, outcome="failed",
                                   error_code="resume_unavailable", error=DELETED)
        try:
            finished = started.stored or await (
                started.compiling
                or self.compiler.run(job.job_id, started.prepared, look_in_store=False))
        except Exception:
            observe_compile(request.template, "error", time.perf_counter() - started.at)
            raise
        observe_compile(request.template, finished.outcome, time.perf_counter() - started.at)
        return finished


def _retrieved(future: "asyncio.Future[CompileFinished]") -> None:
    if not future.cancelled():
        future.exception()


def jobs_consumer(components: Components, settings: CompileSettings) -> Consumer:
    sweep_stale_runs(settings.compile_work_dir)
    compiler = components.compiler
    runner = JobRunner(components.jobs, CompileWork(components.service, compiler),
                       settings.consumer_max_attempts,
                       after_close=lambda finished: compiler.check_ats(finished.job_id))
    return drop_erased(runner.consumer(COMPILE_JOBS_CONSUMER,
                                       prefetch=settings.compile_concurrency),
                       ErasedUsers(components.db, erased_users))


def resumes_consumer(components: Components, settings: CompileSettings) -> Consumer:
    return resume_replica_consumer(COMPILE_RESUMES_CONSUMER, components.db, resume_replica,
                                   settings.consumer_max_attempts, settings.trace_policy(),
                                   erased=erased_users)


async def run_worker(settings: CompileSettings) -> None:
    components, broker = build(settings), make_broker(settings.amqp_url)
    try:
        await components.compiler.warm_up()  # before the first job is taken
        # the missing thumbnails are made beside the first jobs, so the first ask finds them
        async with (in_background(components.thumbnails.make_all()),
                    jobs_running("compile_service", settings, broker,
                                 [jobs_consumer(components, settings)], event_tables,
                                 service_checks(components.db, broker), components.jobs,
                                 waits=False, works=True)):
            await asyncio.Event().wait()
    finally:
        await components.close()


@contextlib.asynccontextmanager
async def in_background(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _main() -> None:
    settings = CompileSettings()
    observe_process("compile_service", settings)  # JSON logs
    run_process(run_worker(settings))


if __name__ == "__main__":
    _main()
