"""The consumers of ai_service, and the standalone worker process.

- `ai_service.ratings` (work queue, binds ``ai.RatingRequested``): many workers, prefetch =
  RATING_CONCURRENCY, each message its own job run by runtime.jobs.JobRunner (claim, call
  the model, close; a closed job is acknowledged without calling the model). Model failures
  are outcomes; an infrastructure failure (database down) raises, so the message is retried
  with backoff and, on its last attempt, the job is closed as failed and the message goes to
  `ai_service.ratings.dlq`.
- `ai_service.imports` (work queue, binds ``ai.ImportRequested``): the same, prefetch =
  IMPORT_CONCURRENCY; the model reads the request's text into an `ImportedResume`, made
  into the document that `ImportFinished` carries to resume_service.
- `ai_service.resumes` (the resume replica, runtime.replica): relies on every resume event
  carrying the whole document, so order and duplicates do not matter; it writes what is
  waiting in batches (runtime.consumers.BatchConsumer).

Run a worker on its own: ``python -m ai_service.worker``.
"""

import asyncio
import logging
import time
from typing import Any

from faststream.rabbit import RabbitBroker

from ai_service.domain import imported_document
from ai_service.gemini import Gemini, InvalidAnswer, ModelError, Question
from ai_service.metrics import observe_import, observe_rating
from ai_service.prompt import import_config
from ai_service.service import RatingService
from ai_service.settings import AiSettings
from ai_service.tables import erased_users, event_tables, jobs, resume_replica
from ai_service.wiring import Components, build
from contracts.ai_events import (
    ImportedResume,
    ImportFinished,
    ImportRequested,
    RatingFinished,
    RatingRequested,
)
from contracts.resume import MAX_RESUME_BULLETS, MAX_RESUME_BYTES, ResumeDocument, bullet_count
from contracts.topology import (
    AI_ERASURE_CONSUMER,
    AI_IMPORTS_CONSUMER,
    AI_PRODUCER,
    AI_RATINGS_CONSUMER,
    AI_RESUMES_CONSUMER,
)
from runtime.bus import Consumer, make_broker
from runtime.erasure import ErasedUsers, JobServiceErasure, drop_erased, erasure_consumer
from runtime.eventstore import EventStore
from runtime.jobs import JobRunner, JobState, jobs_running
from runtime.lifecycle import run_process
from runtime.metrics import service_metrics
from runtime.observe import observe_process
from runtime.ops import Check, service_checks
from runtime.replica import resume_replica_consumer

log = logging.getLogger(__name__)

NOT_CONFIGURED = "the model is not configured: set GEMINI_API_KEY"
DELETED = "the resume version was deleted before it was rated"


class RatingWork:
    """Read what the model is shown (while the claim is recorded), then ask the model."""

    def __init__(self, service: RatingService, rater: Gemini) -> None:
        self.service, self.rater = service, rater

    async def prepare(self, request: RatingRequested) -> dict[str, Any] | None:
        return await self.service.model_input_of(request)

    async def run(self, job: JobState, request: RatingRequested,
                  data: dict[str, Any] | None) -> RatingFinished:
        if data is None:
            return RatingFinished(job_id=job.job_id, outcome="failed",
                                  error_code="resume_unavailable", error=DELETED)
        started = time.perf_counter()
        try:
            result = await self.rater.rate(data)
        except ModelError as exc:
            observe_rating(exc.code, exc.model_calls, time.perf_counter() - started)
            return RatingFinished(job_id=job.job_id, outcome="failed", error_code=exc.code,
                                  error=exc.reason[:2000], model_calls=exc.model_calls)
        observe_rating("succeeded", result.model_calls, time.perf_counter() - started)
        return RatingFinished(job_id=job.job_id, outcome="succeeded", rating=result.value,
                              model_calls=result.model_calls)


def import_question(request: ImportRequested) -> Question[tuple[ResumeDocument, int]]:
    """The file's text as the whole user turn; the answer validated as an ImportedResume,
    then made into the document (titled after the file)."""
    title = request.file_name.rsplit(".", 1)[0]

    def parse(text: str) -> tuple[ResumeDocument, int]:
        document, shortened = imported_document(ImportedResume.model_validate_json(text), title)
        if len(document.model_dump_json().encode()) > MAX_RESUME_BYTES:
            raise InvalidAnswer(f"the resume read is over {MAX_RESUME_BYTES} bytes")
        if bullet_count(document) > MAX_RESUME_BULLETS:
            raise InvalidAnswer(f"the resume read has over {MAX_RESUME_BULLETS} bullets")
        return document, shortened

    return Question(request.text, import_config(), parse, "the import schema")


class ImportWork:
    """Ask the model to read the request's text (it carries all the job needs)."""

    def __init__(self, gemini: Gemini) -> None:
        self.gemini = gemini

    async def prepare(self, request: ImportRequested) -> None:
        return None

    async def run(self, job: JobState, request: ImportRequested, _: None) -> ImportFinished:
        started = time.perf_counter()
        try:
            answer = await self.gemini.ask(import_question(request))
        except ModelError as exc:
            observe_import(exc.code, exc.model_calls, time.perf_counter() - started)
            return ImportFinished(job_id=job.job_id, outcome="failed", error_code=exc.code,
                                  error=exc.reason[:2000], model_calls=exc.model_calls)
        observe_import("succeeded", answer.model_calls, time.perf_counter() - started)
        document, shortened = answer.value
        return ImportFinished(
            job_id=job.job_id, outcome="succeeded", resume_id=request.resume_id,
            owner_id=request.owner_id, file_name=request.file_name, model=request.model,
            document=document, shortened=shortened, model_calls=answer.model_calls)


def consumers(components: Components, settings: AiSettings, works: bool) -> list[Consumer]:
    """The resume replica's and the erasure's consumers and, where this process `works`,
    the ratings' and the imports' (which drop the jobs of an erased user)."""
    replica = resume_replica_consumer(AI_RESUMES_CONSUMER, components.engine, resume_replica,
                                      settings.consumer_max_attempts, settings.trace_policy(),
                                      erased=erased_users)
    erased = ErasedUsers(components.engine, erased_users)
    always = [replica, erasure(components, settings, erased)]
    if not works:
        return always
    assert components.client is not None, "a rating worker needs GEMINI_API_KEY"
    gemini = Gemini(components.client, settings)
    ratings = JobRunner(components.jobs, RatingWork(components.service, gemini),
                        settings.consumer_max_attempts)
    imports = JobRunner(components.imports, ImportWork(gemini), settings.consumer_max_attempts)
    return [*always, *(drop_erased(consumer, erased) for consumer in (
        ratings.consumer(AI_RATINGS_CONSUMER, prefetch=settings.rating_concurrency),
        imports.consumer(AI_IMPORTS_CONSUMER, prefetch=settings.import_concurrency)))]


def erasure(components: Components, settings: AiSettings, erased: ErasedUsers) -> Consumer:
    """`ai_service.erasure`: the user's job events, ratings, imports and replica rows."""
    store = EventStore(event_tables, AI_PRODUCER, service_metrics("ai_service"))
    work = JobServiceErasure("ai_service", components.engine, store, erased, jobs,
                             resume_replica, settings.amqp_url)
    return erasure_consumer(AI_ERASURE_CONSUMER, work.erase, settings.consumer_max_attempts)


def checks(components: Components, broker: RabbitBroker) -> dict[str, Check]:
    return service_checks(components.engine, broker, components.redis)


async def run_worker(settings: AiSettings) -> None:
    """The rating consumer and the resume replica consumer (so a worker alone has the
    resumes). Without GEMINI_API_KEY the worker takes no rating jobs at all: they wait in the
    queue for a worker that can do them, instead of failing."""
    components, broker = build(settings), make_broker(settings.amqp_url)
    works = components.client is not None
    if not works:
        log.warning("%s; this worker takes no rating or import jobs", NOT_CONFIGURED)
    try:
        async with jobs_running("ai_service", settings, broker,
                                consumers(components, settings, works), event_tables,
                                checks(components, broker),
                                [components.jobs, components.imports], waits=False,
                                works=works):
            await asyncio.Event().wait()
    finally:
        await components.aclose()


def _main() -> None:
    settings = AiSettings()
    observe_process("ai_service", settings)  # JSON logs
    run_process(run_worker(settings))


if __name__ == "__main__":
    _main()
