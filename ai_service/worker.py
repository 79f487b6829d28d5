"""The consumers of ai_service, and the standalone worker process.

- `ai_service.ratings` (work queue, binds ``ai.RatingRequested``): many workers, prefetch =
  RATING_CONCURRENCY. Order does not matter (each message is its own job). Duplicates and
  redeliveries are harmless because the job stream decides: a closed job is acknowledged
  without calling the model, and a message is acknowledged only after the outcome
  (`RatingCompleted` or `RatingFailed`) is recorded. Model failures are outcomes; an
  infrastructure failure (database down) raises, so the message is retried with backoff and,
  when it keeps failing, dead-lettered to `ai_service.ratings.dlq`.
- `ai_service.resumes` (the resume replica, runtime.replica): relies on every resume event
  carrying the whole document, so order and duplicates do not matter.

Run a worker on its own: ``python -m ai_service.worker``.
"""

import asyncio
import contextlib
import logging
import signal

from ai_service.domain import CompleteRating, FailRating
from ai_service.gemini import GeminiRater, RatingError
from ai_service.service import RatingService
from ai_service.settings import AiSettings
from ai_service.tables import event_tables, resume_replica
from ai_service.wiring import Components, build
from contracts.envelope import EventEnvelope
from contracts.topology import AI_PRODUCER, routing_key
from runtime.bus import Consumer, make_broker
from runtime.db import asyncpg_dsn
from runtime.lifecycle import run_bus
from runtime.replica import resume_replica_consumer

log = logging.getLogger(__name__)

RATINGS_CONSUMER = "ai_service.ratings"
RESUMES_CONSUMER = "ai_service.resumes"
NOT_CONFIGURED = "rating is not configured: set GEMINI_API_KEY"


class RatingRunner:
    def __init__(self, service: RatingService, rater: GeminiRater | None) -> None:
        self.service, self.rater = service, rater

    async def handle(self, envelope: EventEnvelope) -> None:
        job_id = envelope.stream_id
        pending, data = await self.service.pending_input(job_id)
        if not pending:
            return  # closed already: this is a redelivery (or a job this store never had)
        if data is None:
            outcome: CompleteRating | FailRating = FailRating(
                "resume_unavailable", "the resume version was deleted before it was rated")
        elif self.rater is None:
            outcome = FailRating("not_configured", NOT_CONFIGURED)
        else:
            outcome = await self._rate(data)
        await self.service.close(job_id, outcome, causation_id=str(envelope.event_id))

    async def _rate(self, data: dict[str, object]) -> CompleteRating | FailRating:
        assert self.rater is not None
        try:
            result = await self.rater.rate(data)
        except RatingError as exc:
            return FailRating(exc.code, exc.reason, exc.model_calls)
        return CompleteRating(result.rating, result.model_calls)


def ratings_consumer(components: Components, settings: AiSettings) -> Consumer:
    rater = GeminiRater(components.client, settings) if components.client else None
    runner = RatingRunner(components.service, rater)
    return Consumer(RATINGS_CONSUMER, (routing_key(AI_PRODUCER, "RatingRequested"),),
                    runner.handle, max_attempts=settings.consumer_max_attempts,
                    prefetch=settings.rating_concurrency)


def resumes_consumer(components: Components, settings: AiSettings) -> Consumer:
    return resume_replica_consumer(RESUMES_CONSUMER, components.sessions,
                                   event_tables.processed, resume_replica,
                                   settings.consumer_max_attempts)


async def run_worker(settings: AiSettings) -> None:
    """The rating consumer, the resume replica consumer (so a worker alone has the resumes)
    and a standby outbox relay (the outcomes it records must leave even when no HTTP process
    runs; the advisory lock keeps one relay active)."""
    components = build(settings)
    if components.client is None:
        log.warning(NOT_CONFIGURED + "; jobs will fail with that reason")
    broker = make_broker(settings.amqp_url)
    consumers = [ratings_consumer(components, settings), resumes_consumer(components, settings)]
    try:
        await run_bus(broker, consumers, asyncpg_dsn(settings.database_url), event_tables,
                      settings.relay_poll_seconds)
    finally:
        await broker.stop()
        await components.aclose()


async def _main() -> None:
    task = asyncio.create_task(run_worker(AiSettings()))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task



if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_main())
