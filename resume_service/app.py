"""The app factory of resume_service and its lifespan: the components (`wiring.build`), the
broker with its consumers (sign-outs, AI imports) and the outbox relay (unless
RELAY_IN_PROCESS=false), and the routes, all built in the factory and lifespan, never at
import time.

Run: ``uvicorn resume_service.app:create_app --factory --port 8002``
"""

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from resume_service.api import install_domain_error_handlers, router
from resume_service.cached_reads import CachedReadShortcut
from resume_service.public import install_share_error_handlers
from resume_service.public import router as public_router
from resume_service.public_shortcut import PublicReadShortcut
from resume_service.settings import ResumeSettings
from resume_service.share_routes import router as share_router
from resume_service.tables import event_tables
from resume_service.wiring import build, expose
from runtime.bus import make_broker
from runtime.http import install_http_plumbing
from runtime.identity import IdentityVerifier
from runtime.lifecycle import bus_running
from runtime.observe import install_observability
from runtime.ops import ops_listener, service_checks


def create_app(settings: ResumeSettings | None = None) -> FastAPI:
    settings = settings or ResumeSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        components = build(settings)
        broker = make_broker(settings.amqp_url)
        app.state.identity = IdentityVerifier(settings.identity_public_key, "resume")
        expose(components, app.state)
        app.state.public_origin, app.state.cookie_secure = (settings.public_origin,
                                                            settings.cookie_secure)
        try:
            async with (bus_running(broker, components.consumers, settings, event_tables),
                        ops_listener("resume_service", settings, service_checks(
                            components.engine, broker, components.redis))):
                yield
        finally:
            await components.aclose()

    app = FastAPI(title="resume_service", version="1.0.0", lifespan=lifespan,
                  redirect_slashes=False)  # a redirect would name this service's address
    app.add_middleware(CachedReadShortcut)  # innermost of the middleware: errors, ids, metrics
    app.add_middleware(PublicReadShortcut)
    install_http_plumbing(app, settings.max_body_bytes)
    install_domain_error_handlers(app)
    install_share_error_handlers(app)
    app.include_router(router)
    app.include_router(share_router)
    app.include_router(public_router)
    install_observability(app, "resume_service", settings)

    return app
