"""Wiring of auth_service: engine, Redis, session store, OIDC client, broker and outbox relay,
all built in the app factory and lifespan, never at import time.

Run: ``uvicorn auth_service.app:create_app --factory --port 8001``
"""

import contextlib
import hashlib
import hmac
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from auth_service.api import dev_router, router
from auth_service.oidc import OidcSignIn
from auth_service.service import AuthService
from auth_service.settings import AuthSettings
from auth_service.tables import event_tables
from contracts.topology import AUTH_PRODUCER
from runtime.bus import make_broker
from runtime.db import make_engine, make_sessionmaker
from runtime.eventstore import EventStore
from runtime.http import install_http_plumbing
from runtime.identity import IdentityVerifier
from runtime.lifecycle import bus_running
from runtime.metrics import service_metrics
from runtime.observe import install_observability
from runtime.ops import ops_listener, service_checks
from runtime.redis_pool import make_redis
from runtime.sessions import SessionStore

LOGIN_FLOW_COOKIE = "rb_login"


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    settings = settings or AuthSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        redis = make_redis(settings.redis_url)
        broker = make_broker(settings.amqp_url)
        sessions = SessionStore(redis, settings.session_idle_seconds,
                                settings.session_absolute_seconds)
        app.state.settings = settings
        app.state.identity = IdentityVerifier(settings.identity_public_key, "auth")
        app.state.oidc = OidcSignIn(settings, redis)
        app.state.service = AuthService(
            make_sessionmaker(engine),
            EventStore(event_tables, AUTH_PRODUCER, service_metrics("auth_service")), sessions)
        try:
            async with (bus_running(broker, [], settings, event_tables),
                        ops_listener("auth_service", settings,
                                     service_checks(engine, broker, redis))):
                yield
        finally:
            await redis.aclose()
            await engine.dispose()

    app = FastAPI(title="auth_service", version="1.0.0", lifespan=lifespan,
                  redirect_slashes=False)  # a redirect would name this service's address
    install_http_plumbing(app, settings.max_body_bytes)
    # holds only a signed marker of the login flow in progress (and the `next` path)
    app.add_middleware(SessionMiddleware, secret_key=_derived_secret(settings, "login-flow"),
                       session_cookie=LOGIN_FLOW_COOKIE, max_age=settings.login_flow_seconds,
                       same_site="lax", https_only=settings.cookie_secure)
    app.include_router(router)
    if settings.dev_login_enabled:
        app.include_router(dev_router)
    install_observability(app, "auth_service", settings)

    return app


def _derived_secret(settings: AuthSettings, purpose: str) -> str:
    return hmac.new(settings.internal_secret.encode(), purpose.encode(),
                    hashlib.sha256).hexdigest()
