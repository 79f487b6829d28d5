"""What the HTTP process and the worker process both build: engine, sessions, Redis, the
Gemini client and the service. Built on demand (in a lifespan), never at import time."""

from dataclasses import dataclass

from google import genai
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ai_service.gemini import make_client
from ai_service.ratelimit import RateLimiter
from ai_service.service import RatingService
from ai_service.settings import AiSettings
from ai_service.tables import event_tables
from contracts.topology import AI_PRODUCER
from runtime.db import make_engine, make_read_sessionmaker, make_sessionmaker
from runtime.eventstore import EventStore
from runtime.redis_pool import make_redis


@dataclass
class Components:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    client: genai.Client | None
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
    service = RatingService(sessions, make_read_sessionmaker(engine),
                            EventStore(event_tables, AI_PRODUCER), limiter,
                            settings.gemini_model, configured=client is not None)
    return Components(engine, sessions, redis, client, service)
