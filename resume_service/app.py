"""Wiring of resume_service: engine, Redis, broker, outbox relay and routes, all built in
the app factory and lifespan, never at import time.

Run: ``uvicorn resume_service.app:create_app --factory --port 8002``
"""

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from contracts.topology import RESUME_PRODUCER
from resume_service.api import install_domain_error_handlers, router
from resume_service.cached_reads import CachedReadShortcut
from resume_service.service import ResumeService
from resume_service.settings import ResumeSettings
from resume_service.tables import event_tables
from resume_service.worker import signed_out_consumer
from runtime.bus import Consumer, make_broker
from runtime.cache import ReadCache
from runtime.db import make_engine, make_read_sessionmaker, make_sessionmaker
from runtime.eventstore import EventStore
from runtime.http import install_http_plumbing
from runtime.identity import IdentityVerifier
from runtime.lifecycle import bus_running
from runtime.metrics import service_metrics
from runtime.observe import install_observability
from runtime.ops import ops_listener, service_checks
from runtime.redis_pool import make_redis


def create_app(settings: ResumeSettings | None = None) -> FastAPI:
    settings = settings or ResumeSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        redis = make_redis(settings.redis_url)
        broker = make_broker(settings.amqp_url)
        app.state.identity = IdentityVerifier(settings.identity_public_key, "resume")
        app.state.service = ResumeService(
            make_sessionmaker(engine), make_read_sessionmaker(engine),
            EventStore(event_tables, RESUME_PRODUCER, service_metrics("resume_service")),
            ReadCache(redis, "rc:resume", settings.cache_ttl_seconds)
            if settings.read_cache else None)
        try:
            async with (bus_running(broker, _consumers(app.state.service, settings), settings,
                                    event_tables),
                        ops_listener("resume_service", settings,
                                     service_checks(engine, broker, redis))):
                yield
        finally:
            await redis.aclose()
            await engine.dispose()

    app = FastAPI(title="resume_service", version="1.0.0", lifespan=lifespan,
                  redirect_slashes=False)  # a redirect would name this service's address
    app.add_middleware(CachedReadShortcut)  # innermost of the middleware: errors, ids, metrics
    install_http_plumbing(app, settings.max_body_bytes)
    install_domain_error_handlers(app)
    app.include_router(router)
    install_observability(app, "resume_service", settings)

    return app


def _consumers(service: ResumeService, settings: ResumeSettings) -> list[Consumer]:
    """Without a read cache there is nothing to drop on sign-out."""
    if service.cache is None:
        return []
    return [signed_out_consumer(service.cache, settings.consumer_max_attempts)]
