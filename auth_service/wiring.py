"""What auth_service builds from its settings (engine, Redis, the session store, the OpenID
Connect client, the service and the account erasure), built on demand (in a lifespan), never
at import time; and how they reach the routes (`expose`, then `Service`, `Oidc`, `Erasure`,
`Settings`)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import State

from auth_service.erasure import AccountErasure
from auth_service.exports import AccountExports, build_exports
from auth_service.oidc import OidcSignIn
from auth_service.service import AuthService
from auth_service.settings import AuthSettings
from auth_service.tables import event_tables
from contracts.topology import AUTH_PRODUCER
from runtime.db import make_engine, make_sessionmaker
from runtime.eventstore import EventStore
from runtime.metrics import service_metrics
from runtime.redis_pool import make_redis
from runtime.sessions import SessionStore


@dataclass
class Components:
    engine: AsyncEngine
    redis: Redis
    oidc: OidcSignIn
    service: AuthService
    exports: AccountExports
    erasure: AccountErasure

    async def aclose(self) -> None:
        await self.redis.aclose()
        await self.engine.dispose()


def build(settings: AuthSettings) -> Components:
    engine = make_engine(settings.database_url)
    redis = make_redis(settings.redis_url)
    sessions = SessionStore(redis, settings.session_idle_seconds,
                            settings.session_absolute_seconds)
    store = EventStore(event_tables, AUTH_PRODUCER, service_metrics("auth_service"))
    db = make_sessionmaker(engine)
    erasure = AccountErasure(db, store, sessions, settings.erasure_sign_in_max_age_minutes * 60)
    return Components(engine, redis, OidcSignIn(settings, redis), AuthService(db, store, sessions),
                      build_exports(settings, engine), erasure)


def expose(components: Components, state: State) -> None:
    """What the routes reach through `request.app.state` (the settings are set by the app)."""
    state.oidc, state.service = components.oidc, components.service
    state.exports, state.jobs = components.exports, components.exports.jobs  # runtime.jobs
    state.erasure = components.erasure


async def get_service(request: Request) -> AuthService:
    return request.app.state.service  # type: ignore[no-any-return]


async def get_oidc(request: Request) -> OidcSignIn:
    return request.app.state.oidc  # type: ignore[no-any-return]


async def get_settings(request: Request) -> AuthSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_exports(request: Request) -> AccountExports:
    return request.app.state.exports  # type: ignore[no-any-return]


async def get_erasure(request: Request) -> AccountErasure:
    return request.app.state.erasure  # type: ignore[no-any-return]


Service = Annotated[AuthService, Depends(get_service)]
Exports = Annotated[AccountExports, Depends(get_exports)]
Erasure = Annotated[AccountErasure, Depends(get_erasure)]
Oidc = Annotated[OidcSignIn, Depends(get_oidc)]
Settings = Annotated[AuthSettings, Depends(get_settings)]
