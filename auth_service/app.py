"""The app factory of auth_service and its lifespan: the components (`wiring.build`), the
broker with the erasure reports' consumer and the outbox relay (unless
RELAY_IN_PROCESS=false), the login-flow cookie and the routes, all built in the factory and
lifespan, never at import time.

Run: ``uvicorn auth_service.app:create_app --factory --port 8001``
"""

import contextlib
import hashlib
import hmac
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from auth_service.api import dev_router, install_domain_error_handlers, router
from auth_service.erasure import completions_consumer
from auth_service.export_routes import export_router, install_export_error_handlers
from auth_service.settings import AuthSettings
from auth_service.tables import event_tables
from auth_service.wiring import build, expose
from runtime.bus import make_broker
from runtime.http import install_http_plumbing
from runtime.identity import IdentityVerifier
from runtime.lifecycle import bus_running
from runtime.observe import install_observability
from runtime.ops import ops_listener, service_checks

LOGIN_FLOW_COOKIE = "rb_login"


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    settings = settings or AuthSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        components = build(settings)
        broker = make_broker(settings.amqp_url)
        app.state.settings = settings
        app.state.identity = IdentityVerifier(settings.identity_public_key, "auth")
        expose(components, app.state)
        try:
            consumers = [completions_consumer(components.erasure,
                                              settings.consumer_max_attempts)]
            async with (bus_running(broker, consumers, settings, event_tables,
                                    components.exports.jobs.waiter.run_forever()),
                        ops_listener("auth_service", settings, service_checks(
                            components.engine, broker, components.redis))):
                yield
        finally:
            await components.aclose()

    app = FastAPI(title="auth_service", version="1.0.0", lifespan=lifespan,
                  redirect_slashes=False)  # a redirect would name this service's address
    install_http_plumbing(app, settings.max_body_bytes)
    # holds only a signed marker of the login flow in progress (and the `next` path)
    app.add_middleware(SessionMiddleware, secret_key=_derived_secret(settings, "login-flow"),
                       session_cookie=LOGIN_FLOW_COOKIE, max_age=settings.login_flow_seconds,
                       same_site="lax", https_only=settings.cookie_secure)
    install_domain_error_handlers(app)
    install_export_error_handlers(app)
    app.include_router(router)
    app.include_router(export_router)
    if settings.dev_login_enabled:
        app.include_router(dev_router)
    install_observability(app, "auth_service", settings)

    return app


def _derived_secret(settings: AuthSettings, purpose: str) -> str:
    return hmac.new(settings.internal_secret.encode(), purpose.encode(),
                    hashlib.sha256).hexdigest()
