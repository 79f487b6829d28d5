"""The HTTP app of compile_service: its factory and lifespan. The lifespan builds the
components (wiring.py), runs the resume-replica and erasure consumers (and, unless
JOB_WORKER_IN_APP=false, the job worker), the outbox relay and the status waiter, and stops
them at the end. Its Typst engine is made ready at start either way: requests compile Typst
jobs themselves (TYPST_IN_REQUEST, compile_service.service).

Run: ``uvicorn compile_service.app:create_app --factory --port 8003``
Workers on their own: ``python -m compile_service.worker``
"""

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from compile_service.api import install_domain_error_handlers, routes
from compile_service.erasure import compile_erasure_consumer
from compile_service.rendering import TYPST_ENGINE
from compile_service.settings import CompileSettings
from compile_service.tables import event_tables
from compile_service.wiring import build, expose
from compile_service.worker import jobs_consumer, resumes_consumer
from runtime.bus import make_broker
from runtime.identity import IdentityVerifier
from runtime.jobs import jobs_running
from runtime.ops import service_checks
from runtime.service_app import service_app


def create_app(settings: CompileSettings | None = None) -> FastAPI:
    settings = settings or CompileSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        components, broker = build(settings), make_broker(settings.amqp_url)
        works = settings.job_worker_in_app
        consumers = [resumes_consumer(components, settings),
                     compile_erasure_consumer(components, settings),
                     *([jobs_consumer(components, settings)] if works else [])]
        app.state.settings = settings
        app.state.identity = IdentityVerifier(settings.identity_public_key, "compile")
        expose(components, app.state)
        try:
            if works:
                await components.compiler.warm_up()  # before the first job is taken
            elif settings.typst_in_request:  # the requests' own Typst compiles
                await components.compiler.warm_up(TYPST_ENGINE)
            async with jobs_running("compile_service", settings, broker, consumers,
                                    event_tables, service_checks(components.db, broker),
                                    components.jobs, waits=True, works=works):
                yield
        finally:
            await components.close()

    return service_app("compile_service", settings, lifespan, routes,
                       install_domain_error_handlers)
