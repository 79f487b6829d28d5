"""Writing resume histories the way resume_service does (EventStore.append plus the inline
projection, in one transaction), and reading the read model back for comparisons."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.resume import ResumeDocument, Section
from contracts.resume_events import (
    ResumeCreated,
    ResumeDeleted,
    ResumeEvent,
    ResumeUndeleted,
    ResumeUpdated,
)
from contracts.topology import RESUME_PRODUCER
from resume_service import projections
from resume_service.tables import event_tables, resumes
from runtime.db import make_engine
from runtime.eventstore import EventStore, NewEvent


def document(title: str, sections: tuple[str, ...] = ()) -> ResumeDocument:
    return ResumeDocument(title=title, sections=[Section(title=s, kind="custom")
                                                 for s in sections])


class ResumeWriter:
    """Appends resume events and keeps the `resumes` projection up to date, like the service."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], owner: str) -> None:
        self.sessions, self.owner = sessions, owner
        self.store = EventStore(event_tables, RESUME_PRODUCER)
        self.versions: dict[str, int] = {}
        self.documents: dict[str, ResumeDocument] = {}

    async def create(self, title: str, correlation_id: str | None = None) -> str:
        resume_id = str(uuid4())
        self.documents[resume_id] = document(title)
        await self._record(resume_id, ResumeCreated(resume_id=resume_id, owner_id=self.owner,
                                                    document=document(title)), correlation_id)
        return resume_id

    async def update(self, resume_id: str, title: str, sections: tuple[str, ...] = ()) -> None:
        await self._record(resume_id, ResumeUpdated(
            resume_id=resume_id, owner_id=self.owner, document=document(title, sections)))

    async def delete(self, resume_id: str) -> None:
        await self._record(resume_id, ResumeDeleted(resume_id=resume_id, owner_id=self.owner))

    async def undelete(self, resume_id: str, title: str) -> None:
        await self._record(resume_id, ResumeUndeleted(
            resume_id=resume_id, owner_id=self.owner, document=document(title)))

    async def _record(self, resume_id: str, event: ResumeEvent,
                      correlation_id: str | None = None) -> None:
        version = self.versions.get(resume_id, 0)
        async with self.sessions.begin() as session:
            stored = await self.store.append(
                session, resume_id, version,
                [NewEvent(event.event_type, event.model_dump(mode="json"))],
                user_id=self.owner, correlation_id=correlation_id)
            for envelope in stored:
                await projections.apply_event(session, envelope)
        self.versions[resume_id] = version + 1


@asynccontextmanager
async def resume_writer(url: str, owner: str | None = None) -> AsyncIterator[ResumeWriter]:
    engine = make_engine(url, pool_size=2)
    try:
        yield ResumeWriter(async_sessionmaker(engine, expire_on_commit=False),
                           owner or f"user-{uuid4()}")
    finally:
        await engine.dispose()


async def read_model(url: str, ids: list[str]) -> list[dict[str, Any]]:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(resumes).where(resumes.c.id.in_(ids))
                                      .order_by(resumes.c.id))
            return [dict(r._mapping) for r in rows]
    finally:
        await engine.dispose()


async def execute(url: str, sql: str, **params: Any) -> Any:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql), params)
            return result.all() if result.returns_rows else None
    finally:
        await engine.dispose()
