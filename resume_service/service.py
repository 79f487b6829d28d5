"""Use cases of resume_service. Each command is one unit of work: decide on the resume's state
(the read-model row, which moves in step with the log, or what this process last left it
in), then one statement appends the events, queues them in the outbox and updates the read
model (EventStore.inline_projection); then drop the owner's read cache. Concurrency is
optimistic: an append that lost a race is refused by the stream's unique version key, and
the command is decided again (`ResumeService.execute` says how). Reads of the current
resume go through the cache; history and old versions are read from an `OwnedRead`
(`owned`: the owner checked, then the stream read in the same session)."""

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from contracts.envelope import EventEnvelope
from contracts.resume import ResumeDocument
from contracts.resume_events import RESUME_EVENTS, ResumeDeleted, ResumeEvent
from resume_service import projections
from resume_service.domain import (
    RESTORE_WINDOW,
    Command,
    DomainError,
    RestoreResume,
    ResumeNotFound,
    ResumeState,
    UndeleteResume,
    VersionNotFound,
    decide,
    describe_change,
    evolve,
    fold,
)
from resume_service.views import HistoryEntry, ResumeAtVersion, TrashedResume, dumps, row_to_json
from runtime.cache import CachedRead, ReadCache
from runtime.db import autocommit
from runtime.eventstore import EventStore, NewEvent, VersionConflict

log = logging.getLogger(__name__)

ALL_KEY = "all"  # read-cache keys, per user: the list, and each resume
CONTENDED_SECONDS = 1.0  # how long a resume that lost a race is written serialized
KNOWN_STATES = 10_000  # resumes whose last written state a process remembers


def resume_key(resume_id: str) -> str:
    return f"r:{resume_id}"


def to_domain_event(envelope: EventEnvelope) -> ResumeEvent:
    return RESUME_EVENTS[envelope.event_type].model_validate(envelope.payload)


def state_from_row(resume_id: str, row: Any) -> ResumeState:
    """The current state from the read model, which moves in step with the log (same
    statements). `decide` never reads the document, so it is left out."""
    if row is None:
        return ResumeState(resume_id)
    return ResumeState(resume_id, version=row.version, owner_id=row.owner_id,
                       deleted=row.deleted_at is not None, deleted_at=row.deleted_at)


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


@dataclass(frozen=True)
class KnownState:
    """The read-model columns a command decides on, as this process last left a resume."""

    id: str
    owner_id: str
    version: int
    created_at: datetime
    deleted_at: datetime | None


class RecentWrites:
    """Per process and bounded: the state this process's last write left each resume in, and
    the resumes that lost a race a moment ago.

    A known state may be stale (another process wrote since). That is harmless: a command
    decided on it appends at a version already taken, the stream's unique key refuses it,
    and the command is decided again on a fresh read."""

    def __init__(self, size: int = KNOWN_STATES) -> None:
        self.size = size
        self._known: dict[str, KnownState] = {}
        self._contended: dict[str, float] = {}  # resume id -> when it last lost a race

    def known(self, resume_id: str) -> KnownState | None:
        return self._known.get(resume_id)

    def remember(self, state: KnownState) -> None:
        self._known.pop(state.id, None)
        if len(self._known) >= self.size:  # the least recently written goes
            del self._known[next(iter(self._known))]
        self._known[state.id] = state

    def forget(self, resume_id: str) -> None:
        self._known.pop(resume_id, None)

    def contended(self, resume_id: str) -> bool:
        since = self._contended.get(resume_id)
        return since is not None and time.monotonic() - since < CONTENDED_SECONDS

    def mark_contended(self, resume_id: str) -> None:
        now = time.monotonic()
        if len(self._contended) >= self.size:  # forget the resumes that went quiet
            self._contended = {k: t for k, t in self._contended.items()
                               if now - t < CONTENDED_SECONDS}
        self._contended[resume_id] = now


def state_after(row: Any, owner_id: str, last: EventEnvelope) -> KnownState:
    deleted = last.event_type == ResumeDeleted.event_type
    return KnownState(last.stream_id, row.owner_id if row is not None else owner_id,
                      last.stream_version,
                      row.created_at if row is not None else last.occurred_at,
                      last.occurred_at if deleted else None)


class ResumeService:
    def __init__(self, engine: AsyncEngine, reads: async_sessionmaker[AsyncSession],
                 store: EventStore, cache: ReadCache | None) -> None:
        self.engine, self.reads, self.store, self.cache = engine, reads, store, cache
        self.autocommit = autocommit(engine)
        self.recent = RecentWrites()
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # tests set their own

    async def execute(self, resume_id: str, command: Command) -> tuple[bytes, bool]:
        """Run a command; return the resume as JSON and whether anything was recorded.

        Tried in this order, each step only when the one before lost a race (or, on a known
        state, failed: it may have been stale):
        1. decided on the state this process last left the resume in: one statement;
        2. decided on a fresh read: two;
        3. in a transaction holding the schema's append lock from before the read, so the
           state stays current until the append: a stale expected version is then refused by
           `decide` (StaleVersion -> 409); an update without one, a restore or a delete goes
           on top of the winner's; a create with a client id sees the winner's resume. A
           resume that lost a race is written this way for a moment (its writers queue up
           instead of racing again). Every writer takes the append lock before any
           read-model row (the append statement updates the row after taking it), so the
           paths cannot deadlock."""
        if not self.recent.contended(resume_id):
            known = self.recent.known(resume_id)
            if known is not None:
                try:
                    return await self._execute_once(resume_id, command, known=known)
                except (VersionConflict, DomainError):
                    self.recent.forget(resume_id)
            try:
                return await self._execute_once(resume_id, command)
            except VersionConflict:
                self.recent.mark_contended(resume_id)
        return await self._execute_once(resume_id, command, serialized=True)

    async def _execute_once(self, resume_id: str, command: Command, *,
                            known: KnownState | None = None,
                            serialized: bool = False) -> tuple[bytes, bool]:
        """Decide on the `known` state or on a read, and append: in autocommit, or
        `serialized`: in a transaction that holds the append lock from before the read."""
        async with (self.engine.begin() if serialized else self.autocommit.connect()) as connection:
            if serialized:
                await self.store.lock_appends(connection)
            row = known or await projections.state_row(connection, resume_id)
            state = state_from_row(resume_id, row)
            events = decide(state, command)
            stored = await self._record(connection, state, events, command.owner_id)
        if stored:
            self.recent.remember(state_after(row, command.owner_id, stored[-1]))
            await self._drop_cache(command.owner_id)
            return dumps(view_after(row, stored[-1])), True
        if not state.visible_to(command.owner_id):
            return b"null", False
        async with self.reads() as session:
            return dumps(row_to_json(await _owned_row(session, command.owner_id,
                                                      resume_id))), False

    async def restore(self, owned: OwnedRead, version: int) -> bytes:
        """Make `version` current again (the owner is checked again by `decide`, under the
        row lock)."""
        old = await self.at_version(owned, version)
        if old.document is None:
            raise VersionNotFound(version)
        command = RestoreResume(owned.row.owner_id, version, old.document)
        body, _ = await self.execute(owned.row.id, command)
        return body

    async def trash(self, owner_id: str) -> list[TrashedResume]:
        """The owner's resumes deleted within the restore window."""
        since = self.clock() - RESTORE_WINDOW
        async with self.reads() as session:
            rows = await projections.trashed_rows(session, owner_id, since)
        return [TrashedResume(id=r.id, title=r.title, version=r.version,
                              deleted_at=r.deleted_at,
                              restorable_until=r.deleted_at + RESTORE_WINDOW) for r in rows]

    async def undelete(self, owner_id: str, resume_id: str) -> bytes:
        """Make a deleted resume live again with the document it had (`decide` checks the
        owner and the window on the state it decides on)."""
        async with self.autocommit.connect() as connection:
            row = await projections.any_row(connection, resume_id)
        if row is None or row.owner_id != owner_id:
            raise ResumeNotFound(resume_id)
        command = UndeleteResume(owner_id, ResumeDocument.model_validate(row.document),
                                 self.clock())
        body, _ = await self.execute(resume_id, command)
        return body

    async def _record(self, connection: AsyncConnection, state: ResumeState,
                      events: list[ResumeEvent], owner_id: str) -> list[EventEnvelope]:
        """Append (the read model moves in the same statement: projections.INLINE_PROJECTION)."""
        if not events:
            return []
        new = [NewEvent(e.event_type, e.model_dump(mode="json"), e.schema_version)
               for e in events]
        return await self.store.append(connection, state.resume_id, state.version, new,
                                       user_id=owner_id, known_version=True)

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
