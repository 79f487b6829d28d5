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

import logging
import time

from ai_service.domain import CompleteRating, FailRating
from ai_service.gemini import GeminiRater, RatingError
from ai_service.metrics import observe_rating
from ai_service.service import RatingService
from ai_service.settings import AiSettings
from ai_service.tables import event_tables, resume_replica
from ai_service.wiring import Components, build
from contracts.envelope import EventEnvelope
from contracts.topology import AI_PRODUCER, routing_key
from runtime.bus import Consumer, make_broker
from runtime.lifecycle import run_bus, run_process, stop_broker
from runtime.observe import observe_process
from runtime.ops import ops_listener, service_checks
from runtime.replica import resume_replica_consumer

log = logging.getLogger(__name__)

RATINGS_CONSUMER = "ai_service.ratings"
RESUMES_CONSUMER = "ai_service.resumes"
NOT_CONFIGURED = "rating is not configured: set GEMINI_API_KEY"


class RatingRunner:
    def __init__(self, service: RatingService, rater: GeminiRater) -> None:
        self.service, self.rater = service, rater

    async def handle(self, envelope: EventEnvelope) -> None:
        job, data = await self.service.pending_job(envelope.stream_id)
        if job is None:  # closed already: a redelivery (or a job this store never had)
            return
        if data is None:
            outcome: CompleteRating | FailRating = FailRating(
                "resume_unavailable", "the resume version was deleted before it was rated")
        else:
            outcome = await self._rate(data)
        await self.service.close(job, outcome, causation_id=str(envelope.event_id))

    async def _rate(self, data: dict[str, object]) -> CompleteRating | FailRating:
        started = time.perf_counter()
        try:
            result = await self.rater.rate(data)
        except RatingError as exc:
            observe_rating(exc.code, exc.model_calls, time.perf_counter() - started)
            return FailRating(exc.code, exc.reason, exc.model_calls)
        observe_rating("completed", result.model_calls, time.perf_counter() - started)
        return CompleteRating(result.rating, result.model_calls)


def ratings_consumer(components: Components, settings: AiSettings) -> Consumer:
    assert components.client is not None, "a rating worker needs GEMINI_API_KEY"
    runner = RatingRunner(components.service, GeminiRater(components.client, settings))
    return Consumer(RATINGS_CONSUMER, (routing_key(AI_PRODUCER, "RatingRequested"),),
                    runner.handle, max_attempts=settings.consumer_max_attempts,
                    prefetch=settings.rating_concurrency)


def resumes_consumer(components: Components, settings: AiSettings) -> Consumer:
    return resume_replica_consumer(RESUMES_CONSUMER, components.sessions,
                                   event_tables.processed, resume_replica,
                                   settings.consumer_max_attempts)


async def run_worker(settings: AiSettings) -> None:
    """The rating consumer, the resume replica consumer (so a worker alone has the resumes)
    and, unless RELAY_IN_PROCESS=false, a standby outbox relay (the outcomes it records must
    leave even when no HTTP process runs; the advisory lock keeps one relay active).

    Without GEMINI_API_KEY the worker does not take rating jobs at all: they wait in the
    queue for a worker that can do them, instead of failing."""
    components = build(settings)
    consumers = [resumes_consumer(components, settings)]
    if components.client is None:
        log.warning("%s; this worker takes no rating jobs", NOT_CONFIGURED)
    else:
        consumers.append(ratings_consumer(components, settings))
    broker = make_broker(settings.amqp_url)
    try:
        async with ops_listener("ai_service", settings,
                                service_checks(components.engine, broker)):
            await run_bus(broker, consumers, settings.relay_dsn(), event_tables,
                          settings.relay_poll_seconds)
    finally:
        await stop_broker(broker)
        await components.aclose()


def _main() -> None:
    settings = AiSettings()
    observe_process("ai_service", settings)  # JSON logs
    run_process(run_worker(settings))


if __name__ == "__main__":
    _main()
