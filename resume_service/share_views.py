"""Views of share links, recorded as ShareViewed events and counted from the `share_views`
read model.

A view is counted once per viewer per hour: the viewer is an HMAC of address, user agent and
hour under a salt (a setting), so neither the address nor a hash that could be recomputed from
it is ever stored or logged; a Redis SET NX with a one-hour TTL on that hash decides whether
this view is the hour's first. User agents that look like bots are recorded with `bot` and
counted apart. Recording runs as a task beside the answer, never before it (`ViewRecorder`):
the public read does not wait on Redis or the append.
"""

import asyncio
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field
from redis.asyncio import Redis
from sqlalchemy import bindparam, delete, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from contracts.envelope import EventEnvelope
from contracts.share_events import ShareViewed, ViewKind
from resume_service.tables import SCHEMA, share_views
from runtime.eventstore import EventStore, NewEvent
from runtime.projection import Projection

log = logging.getLogger(__name__)

BOT_AGENTS = re.compile(r"bot|crawl|spider|slurp|preview|curl|wget|python-|httpx|aiohttp|"
                        r"go-http|java/|okhttp|facebookexternalhit|embedly|headless",
                        re.IGNORECASE)
DEDUP_SECONDS = 3600
MAX_PENDING = 1000  # recordings in flight; beyond that a view is dropped, not queued


class DayCount(BaseModel):
    day: date
    views: int
    bots: int


class VersionCount(BaseModel):
    version: int = Field(description="The resume version the viewers got.")
    views: int


class ShareStats(BaseModel):
    views: int = Field(0, description="Views by people (JSON or page), once per viewer and "
                       "hour.")
    downloads: int = 0
    unique_viewers: int = Field(0, description="Distinct viewer hashes (a viewer's hash "
                                "changes every hour).")
    bots: int = Field(0, description="Views and downloads by crawlers and link previews.")
    by_day: list[DayCount] = Field(default_factory=list, description="UTC days.")
    by_version: list[VersionCount] = Field(default_factory=list)


def viewer_hash(salt: str, address: str, user_agent: str, hour: int) -> str:
    message = f"{address}\n{user_agent}\n{hour}".encode()
    return hmac.new(salt.encode(), message, hashlib.sha256).hexdigest()[:32]


def is_bot(user_agent: str) -> bool:
    return not user_agent or BOT_AGENTS.search(user_agent) is not None


class ViewRecorder:
    def __init__(self, engine: AsyncEngine, redis: Redis, store: EventStore, salt: str,
                 clock: Callable[[], datetime], enabled: bool = True) -> None:
        self.engine, self.redis, self.store, self.salt = engine, redis, store, salt
        self.clock, self.enabled = clock, enabled
        self._pending: set[asyncio.Task[None]] = set()

    def record(self, share: Any, kind: ViewKind, address: str, user_agent: str) -> None:
        """Start recording a view of `share` (a shares.PublicShare); returns at once."""
        if not self.enabled or len(self._pending) >= MAX_PENDING:
            return
        hour = int(self.clock().timestamp()) // DEDUP_SECONDS
        event = ShareViewed(share_id=share.share_id, resume_id=share.resume_id,
                            owner_id=share.owner_id, version=share.version, kind=kind,
                            viewer=viewer_hash(self.salt, address, user_agent, hour),
                            bot=is_bot(user_agent))
        task = asyncio.create_task(self._record(event, hour))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record(self, event: ShareViewed, hour: int) -> None:
        key = f"sv:{event.share_id}:{event.kind}:{event.viewer}"
        try:
            if not await self.redis.set(key, hour, nx=True, ex=DEDUP_SECONDS):
                return  # this viewer's hour is counted
            async with self.engine.begin() as connection:
                await self._append(connection, event)
        except Exception as exc:  # a lost view must never reach the viewer
            log.warning("could not record a view of share %s: %r", event.share_id, exc)

    async def _append(self, connection: AsyncConnection, event: ShareViewed) -> None:
        """Views of one share race for its next version: hold the schema's append lock
        (which every append takes anyway) from before the version is read."""
        await self.store.lock_appends(connection)
        version = await self.store.stream_version(connection, event.share_id)
        await self.store.append(connection, event.share_id, version, [
            NewEvent(event.event_type, event.model_dump(mode="json"), event.schema_version)],
            user_id=None, known_version=True)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


# the share store's append statement's tail (runtime.eventstore.EventStore.inline_projection)
INLINE_PROJECTION = f"""
viewed AS (
    INSERT INTO {SCHEMA}.share_views (position, share_id, version, kind, viewer, bot,
                                      viewed_at)
    SELECT global_position, :stream_id, (payload->>'version')::int, payload->>'kind',
           payload->>'viewer', (payload->>'bot')::boolean, recorded_at
    FROM appended WHERE event_type = '{ShareViewed.event_type}'
    ON CONFLICT (position) DO NOTHING
)"""


_TOTALS = text(f"""
SELECT share_id,
       count(*) FILTER (WHERE NOT bot AND kind = 'view') AS views,
       count(*) FILTER (WHERE NOT bot AND kind = 'download') AS downloads,
       count(DISTINCT viewer) FILTER (WHERE NOT bot) AS unique_viewers,
       count(*) FILTER (WHERE bot) AS bots
FROM {SCHEMA}.share_views WHERE share_id = ANY(:ids) GROUP BY share_id""")
_BY_DAY = text(f"""
SELECT share_id, (viewed_at AT TIME ZONE 'UTC')::date AS day,
       count(*) FILTER (WHERE NOT bot) AS views, count(*) FILTER (WHERE bot) AS bots
FROM {SCHEMA}.share_views WHERE share_id = ANY(:ids) GROUP BY 1, 2 ORDER BY 1, 2""")
_BY_VERSION = text(f"""
SELECT share_id, version, count(*) AS views
FROM {SCHEMA}.share_views WHERE share_id = ANY(:ids) AND NOT bot
GROUP BY 1, 2 ORDER BY 1, 2""")


async def share_stats(engine: AsyncEngine, share_ids: Sequence[str]) -> dict[str, ShareStats]:
    stats = {share_id: ShareStats() for share_id in share_ids}
    if not share_ids:
        return stats
    params = {"ids": list(share_ids)}
    async with engine.connect() as connection:
        for row in await connection.execute(_TOTALS, params):
            stats[row.share_id] = ShareStats(views=row.views, downloads=row.downloads,
                                             unique_viewers=row.unique_viewers, bots=row.bots)
        for row in await connection.execute(_BY_DAY, params):
            stats[row.share_id].by_day.append(DayCount(day=row.day, views=row.views,
                                                       bots=row.bots))
        for row in await connection.execute(_BY_VERSION, params):
            stats[row.share_id].by_version.append(VersionCount(version=row.version,
                                                               views=row.views))
    return stats


async def _reset(session: AsyncSession) -> None:
    await session.execute(delete(share_views))


_INSERT_VIEW = insert(share_views).values(
    position=bindparam("position"), share_id=bindparam("share_id"),
    version=bindparam("version"), kind=bindparam("kind"), viewer=bindparam("viewer"),
    bot=bindparam("bot"), viewed_at=bindparam("viewed_at")).on_conflict_do_nothing()


async def _apply(session: AsyncSession, envelope: EventEnvelope) -> None:
    event = ShareViewed.model_validate(envelope.payload)
    await session.execute(_INSERT_VIEW, {
        "position": envelope.global_position, "share_id": envelope.stream_id,
        "version": event.version, "kind": event.kind, "viewer": event.viewer,
        "bot": event.bot, "viewed_at": envelope.occurred_at})


PROJECTION = Projection("share_views", SCHEMA, frozenset({ShareViewed.event_type}), _reset,
                        _apply)
