"""Views of share links, recorded as ShareViewed events and counted from the `share_views`
read model.

A view is counted once per viewer per hour: the viewer is an HMAC of address, user agent and
hour under a salt (a setting), so neither the address nor a hash that could be recomputed from
it is ever stored or logged; a Redis SET NX with a one-hour TTL on that hash decides whether
this view is the hour's first. User agents that look like bots are recorded with `bot` and
counted apart. Recording runs beside the answer, never before it (`ViewRecorder`): the
public read only queues the view, and waits on neither Redis nor the append.
"""

import asyncio
import contextlib
import contextvars
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
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

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
MAX_PENDING = 10_000  # views waiting to be recorded; beyond that a view is dropped
BATCH = 500  # views recorded in one transaction at most


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
    """Views wait in a bounded queue; one writer task takes what has gathered, keeps the
    hour's first view of each viewer (one Redis pipeline of SET NX), and appends them in one
    transaction: the schema's append lock once, then one append per share. Appends are
    serialized by that lock, so batching is what lets recording keep up with reads."""

    def __init__(self, engine: AsyncEngine, redis: Redis, store: EventStore, salt: str,
                 clock: Callable[[], datetime], enabled: bool = True) -> None:
        self.engine, self.redis, self.store, self.salt = engine, redis, store, salt
        self.clock, self.enabled = clock, enabled
        self._queue: asyncio.Queue[ShareViewed] = asyncio.Queue(MAX_PENDING)
        self._writer: asyncio.Task[None] | None = None
        self.dropped = 0

    def record(self, share: Any, kind: ViewKind, address: str, user_agent: str) -> None:
        """Queue a view of `share` (a shares.PublicShare); returns at once."""
        if not self.enabled:
            return
        hour = int(self.clock().timestamp()) // DEDUP_SECONDS
        event = ShareViewed(share_id=share.share_id, resume_id=share.resume_id,
                            owner_id=share.owner_id, version=share.version, kind=kind,
                            viewer=viewer_hash(self.salt, address, user_agent, hour),
                            bot=is_bot(user_agent))
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1  # a view lost, never a viewer kept waiting
            return
        if self._writer is None or self._writer.done():
            # a context of its own: the events' correlation id is no request's
            self._writer = asyncio.create_task(self._write(), context=contextvars.Context())

    async def _write(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < BATCH:
                batch.append(self._queue.get_nowait())
            try:
                await self._append(await self._first_of_the_hour(batch))
            except Exception as exc:  # views lost; the reads go on
                log.warning("could not record %d share views: %r", len(batch), exc)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _first_of_the_hour(self, batch: list[ShareViewed]) -> list[ShareViewed]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for event in batch:
                pipe.set(f"sv:{event.share_id}:{event.kind}:{event.viewer}", 1, nx=True,
                         ex=DEDUP_SECONDS)
            fresh = await pipe.execute()
        return [event for event, first in zip(batch, fresh, strict=True) if first]

    async def _append(self, events: list[ShareViewed]) -> None:
        """Views of one share race for its next version: hold the schema's append lock
        (which every append takes anyway) from before the versions are read."""
        if not events:
            return
        by_share: dict[str, list[NewEvent]] = {}
        for event in events:
            by_share.setdefault(event.share_id, []).append(NewEvent(
                event.event_type, event.model_dump(mode="json"), event.schema_version))
        async with self.engine.begin() as connection:
            await self.store.lock_appends(connection)
            for share_id, new in by_share.items():
                version = await self.store.stream_version(connection, share_id)
                await self.store.append(connection, share_id, version, new, user_id=None,
                                        known_version=True)

    async def drain(self) -> None:
        """Wait for the queued views (at shutdown), then stop the writer."""
        if self._writer is None:
            return
        if not self._writer.done():
            await self._queue.join()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer


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
