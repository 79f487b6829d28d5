"""The HTTP app of ai_service: its factory and lifespan. The lifespan builds the components
(wiring.py), runs the resume-replica consumer (and, unless JOB_WORKER_IN_APP=false or no
GEMINI_API_KEY is set, the rating and import workers), the outbox relay (unless
RELAY_IN_PROCESS=false) and the job waiter, and stops them at the end.

Run: ``uvicorn ai_service.app:create_app --factory --port 8004``
Workers on their own: ``python -m ai_service.worker``
"""

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from ai_service.api import IMPORT_PATH, install_domain_error_handlers, router
from ai_service.settings import AiSettings
from ai_service.tables import event_tables
from ai_service.wiring import build, expose
from ai_service.worker import NOT_CONFIGURED, checks, consumers
from runtime.bus import make_broker
from runtime.identity import IdentityVerifier
from runtime.jobs import jobs_running
from runtime.service_app import service_app

log = logging.getLogger(__name__)


def create_app(settings: AiSettings | None = None) -> FastAPI:
    settings = settings or AiSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        components, broker = build(settings), make_broker(settings.amqp_url)
        if components.client is None:
            log.warning("%s; POST /ai/rate and /ai/import answer 503 until then",
                        NOT_CONFIGURED)
        works = settings.job_worker_in_app and components.client is not None
        app.state.settings = settings
        app.state.identity = IdentityVerifier(settings.identity_public_key, "ai")
        expose(components, app.state)
        try:
            async with jobs_running("ai_service", settings, broker,
                                    consumers(components, settings, works), event_tables,
                                    checks(components, broker),
                                    [components.jobs, components.imports], waits=True,
                                    works=works):
                yield
        finally:
            await components.aclose()

    return service_app("ai_service", settings, lifespan, router, install_domain_error_handlers,
                       body_limits={IMPORT_PATH: settings.import_max_body_bytes})
