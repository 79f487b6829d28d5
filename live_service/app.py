"""The app factory of live_service and its lifespan: the components (`wiring.build`), the
broker with the feed and erasure consumers, the process's pub/sub hub, and the route, all
built in the factory and lifespan, never at import time. No database and no outbox: it
records nothing, it tells users what the other services recorded.

Run: ``uvicorn live_service.app:create_app --factory --port 8005``
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from live_service.api import router
from live_service.erasure import live_erasure_consumer
from live_service.settings import LiveSettings
from live_service.wiring import build, expose
from live_service.worker import feed_consumer
from runtime.bus import make_broker
from runtime.http import install_error_handlers
from runtime.identity import IdentityVerifier
from runtime.lifecycle import run_bus, stop_broker
from runtime.ops import broker_check, ops_listener, redis_check
from runtime.service_app import service_app

SERVICE = "live_service"


def create_app(settings: LiveSettings | None = None) -> FastAPI:
    settings = settings or LiveSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        components = build(settings)
        broker = make_broker(settings.amqp_url)
        app.state.identity = IdentityVerifier(settings.identity_public_key, "live")
        expose(components, app.state)
        consumers = [
            # an erased user's events are dropped by the feed's append script itself
            feed_consumer(components.feeds, settings.consumer_max_attempts),
            live_erasure_consumer(components.redis, broker, settings.consumer_max_attempts)]
        tasks = [asyncio.create_task(run_bus(broker, consumers, None, None)),
                 asyncio.create_task(components.hub.run())]
        checks = {"broker": broker_check(broker), "redis": redis_check(components.redis)}
        try:
            async with ops_listener(SERVICE, settings, checks):
                yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await stop_broker(broker)
            await components.aclose()

    return service_app(SERVICE, settings, lifespan, router, install_error_handlers)
