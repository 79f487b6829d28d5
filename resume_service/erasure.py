"""resume_service's part of an account erasure (`resume_service.erasure`, on AccountErased;
docs/architecture.md, Privacy): the user's resume and share events become tombstones (their
outbox rows go), their resumes (the trash too), shares and the shares' views go, their
dead letters go, and what Redis and this process keep of them; then `ErasureCompleted`.
Its consumers drop events of the erased user from the first step on."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.auth_events import AccountErased
from contracts.topology import RESUME_ERASURE_CONSUMER
from resume_service.service import RecentWrites
from resume_service.tables import event_tables, resumes, share_views, shares
from runtime.bus import Consumer
from runtime.cache import ReadCache
from runtime.erasure import (
    ErasedUsers,
    consumers_of,
    drain_dead_letters,
    erasure_consumer,
    record_completion,
    tombstone,
)
from runtime.eventstore import EventStore

SERVICE = "resume_service"


class ResumeErasure:
    def __init__(self, engine: AsyncEngine, store: EventStore, erased: ErasedUsers,
                 cache: ReadCache | None, recent: RecentWrites, amqp_url: str) -> None:
        self.engine, self.store, self.erased = engine, store, erased
        self.cache, self.recent, self.amqp_url = cache, recent, amqp_url

    async def erase(self, erasure: AccountErased) -> None:
        user_id = erasure.user_id
        async with self.engine.begin() as conn:
            await self.erased.add(conn, user_id)  # from here on, its consumers drop them
        await drain_dead_letters(self.amqp_url, consumers_of(SERVICE), user_id)
        async with self.engine.begin() as conn:
            resume_ids = await self._erase_rows(conn, user_id)
            await record_completion(conn, self.store, erasure, SERVICE)
        for resume_id in resume_ids:
            self.recent.forget(resume_id)
        if self.cache is not None:
            await self.cache.erase(user_id)

    @staticmethod
    async def _erase_rows(conn: AsyncConnection, user_id: str) -> list[str]:
        resume_ids = list((await conn.execute(
            select(resumes.c.id).where(resumes.c.owner_id == user_id))).scalars())
        share_ids = list((await conn.execute(
            select(shares.c.id).where(shares.c.owner_id == user_id))).scalars())
        await tombstone(conn, event_tables, user_id, resume_ids + share_ids)
        await conn.execute(delete(share_views).where(share_views.c.share_id.in_(share_ids)))
        await conn.execute(delete(shares).where(shares.c.owner_id == user_id))
        await conn.execute(delete(resumes).where(resumes.c.owner_id == user_id))
        return resume_ids


def resume_erasure_consumer(erasure: ResumeErasure, max_attempts: int = 5) -> Consumer:
    return erasure_consumer(RESUME_ERASURE_CONSUMER, erasure.erase, max_attempts)
