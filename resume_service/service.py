"""Use cases of resume_service. Each command is one unit of work: load the state, decide,
append the events (with their outbox rows) and update the read model in one transaction;
then drop the owner's read cache. Reads of the current resume go through the cache; history
and old versions are read from an `OwnedRead` (`owned`: the owner checked, then the stream
read in the same session)."""

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.envelope import EventEnvelope
from contracts.resume_events import RESUME_EVENTS, ResumeDeleted, ResumeEvent
from resume_service import projections
from resume_service.domain import (
    Command,
    CreateResume,
    RestoreResume,
    ResumeNotFound,
    ResumeState,
    StaleVersion,
    VersionNotFound,
    decide,
    describe_change,
    evolve,
    fold,
)
from resume_service.views import HistoryEntry, ResumeAtVersion, dumps, row_to_json
from runtime.cache import CachedRead, ReadCache
from runtime.eventstore import EventStore, NewEvent, VersionConflict

log = logging.getLogger(__name__)

ALL_KEY = "all"  # read-cache keys, per user: the list, and each resume


def resume_key(resume_id: str) -> str:
    return f"r:{resume_id}"


def to_domain_event(envelope: EventEnvelope) -> ResumeEvent:
    return RESUME_EVENTS[envelope.event_type].model_validate(envelope.payload)


def state_from_row(resume_id: str, row: Any) -> ResumeState:
    """The current state from the read model, which moves in step with the log (same
    transactions). `decide` never reads the document, so it is left out."""
    if row is None:
        return ResumeState(resume_id)
    return ResumeState(resume_id, version=row.version, owner_id=row.owner_id,
                       deleted=row.deleted_at is not None)


def view_after(row: Any, last: EventEnvelope) -> dict[str, Any] | None:
    """The resume as the read model now has it, built from the last event recorded."""
    if last.event_type == ResumeDeleted.event_type:
        return None
    document = projections.stored_document(projections.written(last))
    return {**document, "id": last.stream_id, "version": last.stream_version,
            "created_at": row.created_at if row is not None else last.occurred_at,
            "updated_at": last.occurred_at}


@dataclass(frozen=True)
class OwnedRead:
    """The caller's live resume (its read-model row), and the read session that found it, for
    the reads that follow in the same session."""

    row: Any
    session: AsyncSession


class ResumeService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 reads: async_sessionmaker[AsyncSession], store: EventStore,
                 cache: ReadCache | None) -> None:
        self.sessions, self.reads, self.store, self.cache = sessions, reads, store, cache

    async def execute(self, resume_id: str, command: Command) -> tuple[bytes, bool]:
        """Run a command; return the resume as JSON and whether anything was recorded.

        The read-model row is locked while deciding, so writers of one resume queue up and
        each decides on the current state; a stale expected version is refused by `decide`
        (StaleVersion -> 409). Only two creates racing for a new client id can still meet
        at the append; the loser runs again and sees the winner's resume."""
        try:
            return await self._execute_once(resume_id, command)
        except VersionConflict as conflict:
            if not isinstance(command, CreateResume):
                raise StaleVersion(conflict.actual) from conflict
            return await self._execute_once(resume_id, command)

    async def _execute_once(self, resume_id: str, command: Command) -> tuple[bytes, bool]:
        async with self.sessions.begin() as session:
            row = await projections.locked_row(session, resume_id)
            state = state_from_row(resume_id, row)
            events = decide(state, command)
            stored = await self._record(session, state, events, command.owner_id)
        if stored:
            await self._drop_cache(command.owner_id)
            return dumps(view_after(row, stored[-1])), True
        return (dumps(row_to_json(row)) if state.visible_to(command.owner_id) else b"null"), False

    async def restore(self, owned: OwnedRead, version: int) -> bytes:
        """Make `version` current again (the owner is checked again by `decide`, under the
        row lock)."""
        old = await self.at_version(owned, version)
        if old.document is None:
            raise VersionNotFound(version)
        command = RestoreResume(owned.row.owner_id, version, old.document)
        body, _ = await self.execute(owned.row.id, command)
        return body

    async def _record(self, session: AsyncSession, state: ResumeState,
                      events: list[ResumeEvent], owner_id: str) -> list[EventEnvelope]:
        if not events:
            return []
        new = [NewEvent(e.event_type, e.model_dump(mode="json"), e.schema_version)
               for e in events]
        stored = await self.store.append(session, state.resume_id, state.version, new,
                                         user_id=owner_id, known_version=True)
        for envelope in stored:
            await projections.apply_event(session, envelope)
        return stored

    async def _drop_cache(self, owner_id: str) -> None:
        if self.cache is None:
            return
        try:
            await self.cache.invalidate(owner_id)
        except RedisError as exc:
            log.warning("could not drop the read cache of %s: %r", owner_id, exc)

    async def get(self, owner_id: str, resume_id: str) -> bytes:
        return await self._cached(owner_id, resume_key(resume_id),
                                  lambda s: self._one(s, owner_id, resume_id))

    async def list_all(self, owner_id: str) -> bytes:
        return await self._cached(owner_id, ALL_KEY, lambda s: self._all(s, owner_id))

    @contextlib.asynccontextmanager
    async def owned(self, owner_id: str, resume_id: str) -> AsyncIterator[OwnedRead]:
        """`owner_id`'s live resume, its read session open for the block; ResumeNotFound for
        any other."""
        async with self.reads() as session:
            yield OwnedRead(await _owned_row(session, owner_id, resume_id), session)

    async def _one(self, session: AsyncSession, owner_id: str, resume_id: str) -> bytes:
        return dumps(row_to_json(await _owned_row(session, owner_id, resume_id)))

    async def _all(self, session: AsyncSession, owner_id: str) -> bytes:
        return dumps([row_to_json(r) for r in await projections.owned_rows(session, owner_id)])

    async def _cached(self, owner_id: str, key: str, load: Any) -> bytes:
        cached: CachedRead | None = None
        if self.cache is not None:
            try:
                cached = await self.cache.get(owner_id, key)
            except RedisError as exc:
                log.warning("read cache unavailable: %r", exc)
        if cached is not None and cached.value is not None:
            return cached.value
        async with self.reads() as session:
            body: bytes = await load(session)
        if cached is not None and self.cache is not None:
            try:
                await self.cache.put(owner_id, cached.generation, key, body)
            except RedisError as exc:
                log.warning("read cache unavailable: %r", exc)
        return body

    async def history(self, owned: OwnedRead) -> list[HistoryEntry]:
        resume_id = owned.row.id
        envelopes = await self.store.read_stream(owned.session, resume_id)
        entries, state = [], ResumeState(resume_id)
        for envelope in envelopes:
            event = to_domain_event(envelope)
            entries.append(HistoryEntry(
                version=envelope.stream_version, event_type=envelope.event_type,
                recorded_at=envelope.occurred_at, summary=describe_change(state.document, event),
                correlation_id=envelope.correlation_id))
            state = evolve(state, event)
        return entries

    async def at_version(self, owned: OwnedRead, version: int) -> ResumeAtVersion:
        resume_id = owned.row.id
        envelopes = await self.store.read_stream(owned.session, resume_id, up_to=version)
        if version < 1 or len(envelopes) < version:
            raise VersionNotFound(version)
        state = fold(resume_id, (to_domain_event(e) for e in envelopes))
        return ResumeAtVersion(id=resume_id, version=version,
                               recorded_at=envelopes[-1].occurred_at, deleted=state.deleted,
                               document=state.document)


async def _owned_row(session: AsyncSession, owner_id: str, resume_id: str) -> Any:
    row = await projections.owned_row(session, owner_id, resume_id)
    if row is None:
        raise ResumeNotFound(resume_id)
    return row
