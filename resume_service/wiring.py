"""What resume_service builds from its settings (engine, Redis, the read cache, the service,
its share links and their view recorder, its consumers), built on demand (in a lifespan),
never at import time; and how they reach the routes (`expose`, then `Service`, `Shares`,
`Views`, and `OwnedRead`, the one check that a resume is the caller's)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, NamedTuple
from uuid import UUID

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import State

from contracts.topology import RESUME_PRODUCER, SHARE_PRODUCER
from resume_service import projections, share_views
from resume_service.erasure import ResumeErasure, resume_erasure_consumer
from resume_service.service import OwnedRead, ResumeService
from resume_service.settings import ResumeSettings
from resume_service.share_access import ShareAccess
from resume_service.share_files import ShareFiles
from resume_service.share_views import ViewRecorder
from resume_service.shares import ShareService
from resume_service.tables import erased_users, event_tables
from resume_service.worker import imported_resumes_consumer, signed_out_consumer
from runtime.bounds import VersionInPath
from runtime.bus import Consumer
from runtime.cache import ReadCache
from runtime.db import make_engine, make_read_sessionmaker
from runtime.erasure import ErasedUsers, drop_erased
from runtime.eventstore import EventStore
from runtime.identity import CurrentUser
from runtime.metrics import service_metrics
from runtime.redis_pool import make_redis


@dataclass
class Components:
    engine: AsyncEngine
    redis: Redis
    service: ResumeService
    shares: ShareService
    views: ViewRecorder
    access: ShareAccess
    files: ShareFiles
    consumers: list[Consumer]

    async def aclose(self) -> None:
        await self.views.drain()
        await self.files.aclose()
        await self.redis.aclose()
        await self.engine.dispose()


def build(settings: ResumeSettings) -> Components:
    engine = make_engine(settings.database_url)
    redis = make_redis(settings.redis_url)
    cache = (ReadCache(redis, "rc:resume", settings.cache_ttl_seconds)
             if settings.read_cache else None)
    store = EventStore(event_tables, RESUME_PRODUCER, service_metrics("resume_service"),
                       inline_projection=projections.INLINE_PROJECTION)
    service = ResumeService(engine, make_read_sessionmaker(engine), store, cache)
    # share events go to the same log (stream: the share), with their own read model
    share_store = EventStore(event_tables, SHARE_PRODUCER, service_metrics("resume_service"),
                             inline_projection=share_views.INLINE_PROJECTION)
    shares = ShareService(engine, share_store, cache)
    views = ViewRecorder(engine, redis, share_store, settings.viewer_salt(),
                         lambda: service.clock(), settings.share_views_recorded)
    access = ShareAccess(redis, settings.internal_secret, settings.viewer_salt(),
                         settings.share_unlock_seconds)
    # without a read cache there is nothing to drop on sign-out
    erased = ErasedUsers(engine, erased_users)
    erasure = ResumeErasure(engine, store, erased, cache, service.recent, settings.amqp_url)
    consumers = [drop_erased(consumer, erased) for consumer in (
        imported_resumes_consumer(service, settings.consumer_max_attempts),
        *([signed_out_consumer(cache, settings.consumer_max_attempts)] if cache else []))]
    consumers.append(resume_erasure_consumer(erasure, settings.consumer_max_attempts))
    files = ShareFiles(settings.compile_service_url, settings.internal_secret)
    return Components(engine, redis, service, shares, views, access, files, consumers)


def expose(components: Components, state: State) -> None:
    """What the routes (and the cached-read shortcut) reach through `request.app.state`."""
    state.service = components.service
    state.shares = components.shares
    state.views = components.views
    state.share_access = components.access
    state.share_files = components.files


async def get_service(request: Request) -> ResumeService:
    return request.app.state.service  # type: ignore[no-any-return]


async def get_shares(request: Request) -> ShareService:
    return request.app.state.shares  # type: ignore[no-any-return]


async def get_views(request: Request) -> ViewRecorder:
    return request.app.state.views  # type: ignore[no-any-return]


async def get_share_files(request: Request) -> ShareFiles:
    return request.app.state.share_files  # type: ignore[no-any-return]


Service = Annotated[ResumeService, Depends(get_service)]
Shares = Annotated[ShareService, Depends(get_shares)]
Views = Annotated[ViewRecorder, Depends(get_views)]
Files = Annotated[ShareFiles, Depends(get_share_files)]


async def owned_resume(resume_id: UUID, user: CurrentUser,
                       service: Service) -> AsyncIterator[OwnedRead]:
    """The caller's live resume, its read session open until the route returns; any other
    answers 404 like a missing one (ResumeNotFound)."""
    async with service.owned(user, str(resume_id)) as owned:
        yield owned


class OwnedVersion(NamedTuple):
    resume: OwnedRead
    version: int


async def owned_version(resume_id: UUID, version: VersionInPath, user: CurrentUser,
                        service: Service) -> AsyncIterator[OwnedVersion]:
    """`owned_resume` for the routes naming a version. The version is taken here, not by the
    route, so that one out of range stays a 422 whoever owns the resume (a dependency runs
    before its route's own parameters are checked)."""
    async with service.owned(user, str(resume_id)) as owned:
        yield OwnedVersion(owned, version)


# "function": the read session closes when the route returns, before the answer is sent
OwnedResume = Annotated[OwnedRead, Depends(owned_resume, scope="function")]
OwnedResumeVersion = Annotated[OwnedVersion, Depends(owned_version, scope="function")]
