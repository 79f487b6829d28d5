"""Wiring of compile_service: database, renderer, engine, artifact store, broker with the
resume-replica consumer (and, unless COMPILE_WORKER_IN_APP=false, the job worker), the
outbox relay and the status waiter, all built in the app factory and lifespan.

Run: ``uvicorn compile_service.app:create_app --factory --port 8003``
Workers on their own: ``python -m compile_service.worker``
"""

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from compile_service.api import install_domain_error_handlers, router
from compile_service.engine import sweep_stale_runs
from compile_service.service import FINISHED_CHANNEL
from compile_service.settings import CompileSettings
from compile_service.tables import event_tables
from compile_service.wiring import build
from compile_service.worker import jobs_consumer, resumes_consumer
from runtime.bus import make_broker
from runtime.db import asyncpg_dsn
from runtime.http import install_http_plumbing
from runtime.identity import IdentityVerifier
from runtime.lifecycle import bus_running
from runtime.observe import install_observability
from runtime.ops import ops_listener, service_checks
from runtime.waiting import JobWaiter


def create_app(settings: CompileSettings | None = None) -> FastAPI:
    settings = settings or CompileSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        components = build(settings)
        broker = make_broker(settings.amqp_url)
        waiter = JobWaiter(asyncpg_dsn(settings.database_url), FINISHED_CHANNEL)
        consumers = [resumes_consumer(components, settings)]
        if settings.compile_worker_in_app:
            sweep_stale_runs(settings.compile_work_dir)
            consumers.append(jobs_consumer(components, settings))
        app.state.settings = settings
        app.state.identity = IdentityVerifier(settings.identity_public_key, "compile")
        app.state.service, app.state.renderer = components.service, components.renderer
        app.state.artifacts, app.state.waiter = components.compiler.artifacts, waiter
        try:
            async with (bus_running(broker, consumers, settings, event_tables,
                                    waiter.run_forever()),
                        ops_listener("compile_service", settings,
                                     service_checks(components.db, broker))):
                yield
        finally:
            await components.db.dispose()

    app = FastAPI(title="compile_service", version="1.0.0", lifespan=lifespan,
                  redirect_slashes=False)  # a redirect would name this service's address
    install_http_plumbing(app, settings.max_body_bytes)
    install_domain_error_handlers(app)
    app.include_router(router)
    install_observability(app, "compile_service", settings)

    return app
