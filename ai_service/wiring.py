"""What the HTTP process and the worker process both build: engine, sessions, Redis, the
Gemini client, the jobs of both kinds (sharing one long-poll listener) and their services;
and how routes reach them (`app.state`, set by the app's lifespan). Built on demand (in a
lifespan), never at import time."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from google import genai
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.datastructures import State

from ai_service.domain import IMPORT_JOB, RATING_JOB
from ai_service.gemini import make_client
from ai_service.metrics import SERVICE
from ai_service.projections import import_records, job_records
from ai_service.ratelimit import RateLimiter
from ai_service.service import ImportService, RatingService
from ai_service.settings import AiSettings
from ai_service.tables import SCHEMA, event_tables
from contracts.topology import AI_PRODUCER
from runtime.db import asyncpg_dsn, make_engine, make_read_sessionmaker, make_sessionmaker
from runtime.eventstore import EventStore
from runtime.jobs import Jobs, job_finished_channel
from runtime.metrics import service_metrics
from runtime.redis_pool import make_redis
from runtime.waiting import JobWaiter


@dataclass
class Components:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    client: genai.Client | None
    jobs: Jobs
    service: RatingService
    imports: Jobs
    import_service: ImportService

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aio.aclose()
        await self.redis.aclose()
        await self.engine.dispose()


def build(settings: AiSettings) -> Components:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    redis = make_redis(settings.redis_url)
    client = make_client(settings)
    limiter = RateLimiter(redis, "rl:ai:rate", settings.rating_limit,
                          settings.rating_limit_window_seconds)
    store = EventStore(event_tables, AI_PRODUCER, service_metrics(SERVICE))
    reads = make_read_sessionmaker(engine)
    waiter = JobWaiter(asyncpg_dsn(settings.database_url), job_finished_channel(SCHEMA))
    jobs = Jobs(RATING_JOB, job_records, store, sessions, reads, waiter)
    imports = Jobs(IMPORT_JOB, import_records, store, sessions, reads, waiter)
    configured = client is not None
    service = RatingService(jobs, limiter, settings.gemini_model, configured,
                            settings.job_version_wait_seconds)
    import_service = ImportService(imports, limiter, settings.gemini_model, configured)
    return Components(engine, sessions, redis, client, jobs, service, imports, import_service)


def expose(components: Components, state: State) -> None:
    """What the routes reach through `request.app.state`."""
    state.jobs, state.service = components.jobs, components.service
    state.imports, state.import_service = components.imports, components.import_service


async def get_service(request: Request) -> RatingService:
    return request.app.state.service  # type: ignore[no-any-return]


async def get_import_service(request: Request) -> ImportService:
    return request.app.state.import_service  # type: ignore[no-any-return]


def imports_of(request: Request) -> Jobs:
    return request.app.state.imports  # type: ignore[no-any-return]


Service = Annotated[RatingService, Depends(get_service)]
Importer = Annotated[ImportService, Depends(get_import_service)]
