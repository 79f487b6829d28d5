"""What the HTTP process and the worker process both build: engine, sessions, Redis, the
Gemini client, the jobs and the service; and how routes reach them (`app.state`, set by the
app's lifespan). Built on demand (in a lifespan), never at import time."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from google import genai
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.datastructures import State

from ai_service.domain import RATING_JOB
from ai_service.gemini import make_client
from ai_service.metrics import SERVICE
from ai_service.projections import job_records
from ai_service.ratelimit import RateLimiter
from ai_service.service import RatingService
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
    jobs = Jobs(RATING_JOB, job_records,
                EventStore(event_tables, AI_PRODUCER, service_metrics(SERVICE)), sessions,
                make_read_sessionmaker(engine),
                JobWaiter(asyncpg_dsn(settings.database_url), job_finished_channel(SCHEMA)))
    service = RatingService(jobs, limiter, settings.gemini_model, client is not None,
                            settings.job_version_wait_seconds)
    return Components(engine, sessions, redis, client, jobs, service)


def expose(components: Components, state: State) -> None:
    """What the routes reach through `request.app.state`."""
    state.jobs, state.service = components.jobs, components.service


async def get_service(request: Request) -> RatingService:
    return request.app.state.service  # type: ignore[no-any-return]


Service = Annotated[RatingService, Depends(get_service)]
