"""The consumers of compile_service, and the standalone worker process.

- `compile_service.jobs` (work queue, binds ``compile.CompileRequested``): many workers,
  prefetch = COMPILE_CONCURRENCY. Ordering does not matter (each message is its own job);
  duplicates and redeliveries are harmless because the job stream decides: a finished job is
  acknowledged without work, and the message is acknowledged only after the outcome is
  recorded, so a worker killed mid-job leaves it to be redelivered (quorum queue) and
  finished by another. An infrastructure failure (engine missing, store down) raises: the
  message is retried and, on its last attempt, the job is marked failed with the reason and
  the message goes to `compile_service.jobs.dlq`.
- `compile_service.resumes` (the resume replica, runtime.replica): relies on every resume
  event carrying the whole document, so order and duplicates do not matter.

Run a worker on its own: ``python -m compile_service.worker``.
"""

import asyncio
import logging
import time

from compile_service.compiler import Compiler, Prepared
from compile_service.domain import FinishAttempt
from compile_service.engine import sweep_stale_runs, worker_name
from compile_service.metrics import observe_compile
from compile_service.service import CompileService
from compile_service.settings import CompileSettings
from compile_service.tables import event_tables, resume_replica
from compile_service.wiring import Components, build
from contracts.compile_events import CompileRequested
from contracts.envelope import EventEnvelope
from contracts.topology import COMPILE_PRODUCER, routing_key
from runtime.bus import Consumer, make_broker
from runtime.lifecycle import run_bus, run_process, stop_broker
from runtime.observe import observe_process
from runtime.ops import ops_listener, service_checks
from runtime.replica import resume_replica_consumer

log = logging.getLogger(__name__)

JOBS_CONSUMER = "compile_service.jobs"
RESUMES_CONSUMER = "compile_service.resumes"
DELETED = "the resume was deleted before it compiled"


class JobRunner:
    def __init__(self, service: CompileService, compiler: Compiler, max_attempts: int) -> None:
        self.service, self.compiler, self.max_attempts = service, compiler, max_attempts

    async def handle(self, envelope: EventEnvelope) -> None:
        job_id = envelope.stream_id
        # read and render while the start is recorded (the request carries what rendering
        # needs), so recording the start costs no latency
        preparing = asyncio.create_task(
            self._prepare(CompileRequested.model_validate(envelope.payload)))
        try:
            state = await self.service.start(job_id, worker_name())
        except BaseException:
            preparing.cancel()
            await asyncio.gather(preparing, return_exceptions=True)
            raise
        if state.finished:
            preparing.cancel()
            await asyncio.gather(preparing, return_exceptions=True)
            return
        template = envelope.payload.get("template", "unknown")
        started = time.perf_counter()
        try:
            prepared = await preparing
            outcome = (FinishAttempt("failed", error=DELETED) if prepared is None
                       else await self.compiler.run(prepared))
        except Exception as exc:
            observe_compile(template, "error", time.perf_counter() - started)
            # the Consumer counts the same attempts (one start per delivery) and
            # dead-letters this delivery when it is the last one
            if state.attempts >= self.max_attempts:
                await self.service.finish(job_id, FinishAttempt(
                    "failed", error=f"gave up after {state.attempts} attempts: {exc}"))
            raise
        observe_compile(template, outcome.outcome, time.perf_counter() - started)
        await self.service.finish(job_id, outcome)

    async def _prepare(self, request: CompileRequested) -> Prepared | None:
        """The rendered source, or None when the resume was deleted meanwhile."""
        document = await self.service.document_at(request.owner_id, request.resume_id,
                                                  request.resume_version)
        if document is None:
            return None
        return self.compiler.prepare(request.template, document)


def jobs_consumer(components: Components, settings: CompileSettings) -> Consumer:
    runner = JobRunner(components.service, components.compiler, settings.consumer_max_attempts)
    return Consumer(JOBS_CONSUMER, (routing_key(COMPILE_PRODUCER, "CompileRequested"),),
                    runner.handle, max_attempts=settings.consumer_max_attempts,
                    prefetch=settings.compile_concurrency)


def resumes_consumer(components: Components, settings: CompileSettings) -> Consumer:
    return resume_replica_consumer(RESUMES_CONSUMER, components.sessions,
                                   event_tables.processed, resume_replica,
                                   settings.consumer_max_attempts)


async def run_worker(settings: CompileSettings) -> None:
    """Jobs consumer plus, unless RELAY_IN_PROCESS=false, a standby outbox relay (the starts
    and finishes it records must leave even when no HTTP process runs; the advisory lock
    keeps one relay active)."""
    sweep_stale_runs(settings.compile_work_dir)
    components = build(settings)
    broker = make_broker(settings.amqp_url)
    try:
        async with ops_listener("compile_service", settings,
                                service_checks(components.db, broker)):
            await run_bus(broker, [jobs_consumer(components, settings)], settings.relay_dsn(),
                          event_tables, settings.relay_poll_seconds)
    finally:
        await stop_broker(broker)
        await components.db.dispose()


def _main() -> None:
    settings = CompileSettings()
    observe_process("compile_service", settings)  # JSON logs
    run_process(run_worker(settings))


if __name__ == "__main__":
    _main()
