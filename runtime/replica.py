"""A service's own copy of resumes (owner and document by version), fed by resume events.

compile_service and ai_service need a resume's content and owner without calling
resume_service. Every resume event carries the whole document, so the replica keeps one row
per (resume, version): inserting is idempotent and order does not matter; the latest row
is the current state, and a `deleted` row ends the resume until it is undeleted
(ResumeUndeleted carries the document again: one more live version, nothing special here).

The consumer (`resume_replica_consumer`) is a runtime.consumers.BatchConsumer: what waits in
its queue goes in one INSERT per batch. It keeps no `processed_events` record: the insert is
idempotent by itself, so a duplicate, a redelivery or a replay to the one consumer (`rb
replay --to <service>.resumes`) changes nothing, and nothing reads such records of these
consumers (rebuilds, `rb projections rebuild`, empty the table and refill it from the log).
Records written before the change stay, unread.
"""

import asyncio
import contextlib
import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    event,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from contracts.envelope import EventEnvelope
from contracts.resume_events import RESUME_EVENTS, ResumeDeleted, ResumeEvent
from contracts.topology import RESUME_EVENT_KEYS
from runtime.consumers import BatchConsumer, Written, database_unavailable
from runtime.logs import TracePolicy
from runtime.projection import Projection
from runtime.waiting import Wakeups, woken_or_after


def define_resume_replica(metadata: MetaData) -> Table:
    return Table(
        "resume_versions", metadata,
        Column("resume_id", Text, primary_key=True),
        Column("version", Integer, primary_key=True),
        Column("owner_id", Text, nullable=False),
        Column("document", JSONB, nullable=True),
        Column("deleted", Boolean, nullable=False, server_default=sa.false()),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
    )


def create_resume_replica(op: Operations, schema: str) -> None:
    op.create_table(
        "resume_versions",
        sa.Column("resume_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("document", JSONB, nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )


# the field of ResumeCreated and ResumeUpdated holding the document (tests/unit check it)
DOCUMENT_FIELD = "document"


@dataclass(frozen=True)
class _Statements:
    """A replica's statements, built once per table (building costs more than running)."""

    insert: Any
    latest: Any
    at_version: Any


@functools.cache
def _statements(replica: Table) -> _Statements:
    return _Statements(
        insert=insert(replica).values(
            resume_id=bindparam("p_resume_id"), version=bindparam("p_version"),
            owner_id=bindparam("p_owner_id"),
            document=bindparam("p_document", type_=JSONB(none_as_null=True)),
            deleted=bindparam("p_deleted"), recorded_at=bindparam("p_recorded_at"),
        ).on_conflict_do_nothing(),
        latest=select(replica).where(replica.c.resume_id == bindparam("resume_id"))
        .order_by(replica.c.version.desc()).limit(1),
        at_version=select(replica).where(replica.c.resume_id == bindparam("resume_id"),
                                         replica.c.version == bindparam("version")),
    )


async def apply_resume_event(session: AsyncSession, replica: Table,
                             envelope: EventEnvelope) -> None:
    """Record one version. The payload is parsed as the fields every resume event has
    (contracts.resume_events.ResumeEvent); the document is copied as stored, not parsed:
    validating it would cost about 25 times as much, and a document that an older schema
    accepted must still reach the replica."""
    event = ResumeEvent.model_validate(envelope.payload)
    await session.execute(_statements(replica).insert, {
        "p_resume_id": envelope.stream_id, "p_version": envelope.stream_version,
        "p_owner_id": event.owner_id,
        "p_document": envelope.payload.get(DOCUMENT_FIELD),
        "p_deleted": envelope.event_type == ResumeDeleted.event_type,
        "p_recorded_at": envelope.occurred_at})


# the resume events a replica keeps: resume_service's store holds its shares' events too, and
# a replay from it (`rb replay --source resume`) sends them all; the others are acknowledged
REPLICATED = list(RESUME_EVENTS)

# One statement per batch, in autocommit. PostgreSQL reads the envelopes itself (the 4 KB
# document is never parsed and re-encoded in Python); a body that is not JSON, or misses what
# a row needs, fails the statement, and the batch goes again one message at a time, where the
# envelope is validated first. Rows go in key order, so two consumers writing overlapping
# batches take their index locks in one order. `{unless_erased}`: a version of an erased
# owner's resume (runtime.erasure) is left out.
_WRITE_BATCH = """
WITH delivered AS MATERIALIZED (
    SELECT n, convert_from(body, 'UTF8')::jsonb AS e
    FROM unnest($1::bytea[]) WITH ORDINALITY AS d(body, n)
), inserted AS (
    INSERT INTO {table} (resume_id, version, owner_id, document, deleted, recorded_at)
    SELECT e->>'stream_id', (e->>'stream_version')::int, e->'payload'->>'owner_id',
           nullif(e->'payload'->'{document}', 'null'), e->>'event_type' = $2,
           (e->>'occurred_at')::timestamptz
    FROM delivered WHERE e->>'event_type' = ANY($3::text[]){unless_erased} ORDER BY 1, 2
    ON CONFLICT (resume_id, version) DO NOTHING
)
SELECT e->>'event_type', (e->>'event_id')::uuid::text, e->>'correlation_id'
FROM delivered ORDER BY n
"""


class ReplicaWriter:
    """Writes resume events to one replica table, a batch per statement, on one connection
    of the engine's pool that it keeps while messages flow (a checkout per batch costs about
    twice the statement's own CPU) and gives back after `idle_seconds` without a write, or
    when the engine is disposed."""

    def __init__(self, engine: AsyncEngine, replica: Table, idle_seconds: float = 5.0,
                 erased: Table | None = None) -> None:
        self.engine, self.idle_seconds = engine, idle_seconds
        unless_erased = "" if erased is None else (
            f" AND NOT EXISTS (SELECT 1 FROM {erased.schema}.{erased.name} x"
            " WHERE x.user_id = e->'payload'->>'owner_id')")
        self.replica = replica
        self._sql = _WRITE_BATCH.format(table=f"{replica.schema}.{replica.name}",
                                        document=DOCUMENT_FIELD, unless_erased=unless_erased)
        self._held: AsyncConnection | None = None
        self._driver: Any = None
        self._writing = False
        self._idle: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[None]] = set()

    async def write(self, bodies: Sequence[bytes]) -> list[Written]:
        """Each body's version inserted (or already there); the events, in order."""
        self._writing = True
        try:
            driver = await self._connection()
            rows = await driver.fetch(self._sql, list(bodies), ResumeDeleted.event_type,
                                      REPLICATED)
            _arrivals.wake(_key(self.replica))
        except BaseException as exc:
            # anything but an error the server reported (lost, cut, cancelled mid-statement)
            # leaves the connection in doubt: the next write takes another
            if not isinstance(exc, asyncpg.PostgresError) or database_unavailable(exc):
                self._give_back(invalidate=True)
            raise
        finally:
            self._writing = False
            self._release_when_idle()
        return [Written(*row) for row in rows]

    async def write_one(self, envelope: EventEnvelope) -> None:
        """The one-message path: the payload checked first, for a clear error."""
        if envelope.event_type in REPLICATED:
            ResumeEvent.model_validate(envelope.payload)
        await self.write([orjson.dumps(envelope.model_dump(mode="json"))])

    async def _connection(self) -> Any:
        if self._held is None:
            if not event.contains(self.engine.sync_engine, "engine_disposed", self._disposed):
                event.listen(self.engine.sync_engine, "engine_disposed", self._disposed)
            held = await self.engine.connect()
            self._driver = (await held.get_raw_connection()).driver_connection
            self._held = held
        return self._driver

    def _disposed(self, _engine: object) -> None:
        self._give_back(invalidate=False)

    def _release_when_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(self.idle_seconds, self._idled)

    def _idled(self) -> None:
        if not self._writing:
            self._give_back(invalidate=False)

    def _give_back(self, invalidate: bool) -> None:
        """Hand the connection back to the pool (invalidated: closed, not reused); taken
        off at once, so a write that starts meanwhile takes another."""
        held, self._held = self._held, None
        if held is None:
            return
        task = asyncio.ensure_future(_closed(held, invalidate))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


async def _closed(connection: AsyncConnection, invalidate: bool) -> None:
    with contextlib.suppress(Exception):
        if invalidate:
            await connection.invalidate()
        await connection.close()


def resume_replica_consumer(name: str, engine: AsyncEngine, replica: Table,
                            max_attempts: int = 5, trace: TracePolicy | None = None,
                            erased: Table | None = None) -> BatchConsumer:
    """The replica's consumer. No processed_events record: the insert is idempotent by
    itself (one row per resume and version, left alone when it is there), so a duplicate or
    a replayed event changes nothing either way. `erased`: the schema's erased users, whose
    resumes it leaves out."""
    writer = ReplicaWriter(engine, replica, erased=erased)
    return BatchConsumer(name, RESUME_EVENT_KEYS, writer.write_one, max_attempts=max_attempts,
                         write_batch=writer.write, trace=trace or TracePolicy())


async def latest(session: AsyncSession, replica: Table, resume_id: str) -> Any:
    return (await session.execute(_statements(replica).latest, {"resume_id": resume_id})
            ).first()


async def owned_version(session: AsyncSession, replica: Table, owner_id: str, resume_id: str,
                        version: int | None = None) -> Any:
    """The row of `version` (or the latest), when the resume is live and `owner_id`'s."""
    head = await latest(session, replica, resume_id)
    if head is None or head.deleted or head.owner_id != owner_id:
        return None
    return await _version_of(session, replica, head, version)


async def _version_of(session: AsyncSession, replica: Table, head: Any,
                      version: int | None) -> Any:
    """The row of `version` (or the head) of a live resume whose head was just read."""
    if version is None or version == head.version:
        return head
    row = (await session.execute(_statements(replica).at_version,
                                 {"resume_id": head.resume_id, "version": version})).first()
    # the version may have arrived since the head was read: a deletion is no resume to rate
    return None if row is None or row.deleted else row


# a save's version usually lands some 5-15 ms after the save answered. This process's own
# replica writer wakes the wait at once (`_arrivals`); another instance's write is found by
# looking again, every 5 ms in that time (a look is one indexed read), less often after
FIRST_PAUSE_SECONDS, EAGER_SECONDS, LONGEST_PAUSE_SECONDS = 0.005, 0.04, 0.05


async def wait_for_version(sessions: async_sessionmaker[AsyncSession], replica: Table,
                           owner_id: str, resume_id: str, version: int | None,
                           timeout: float) -> Any:
    """Wait (bounded) for `version` of the owner's resume to reach the replica, or with no
    version for the resume's first one (a resume created a moment ago may still be on its
    way). The row; None on time-out, and at once when no wait can make the resume the
    owner's (it is another user's, or deleted)."""
    started = time.monotonic()
    deadline, pause = started + timeout, FIRST_PAUSE_SECONDS
    with _arrivals.listening(_key(replica)) as arrived:  # a write during a look counts
        while True:
            async with sessions() as session:
                head = await latest(session, replica, resume_id)
                if head is not None:
                    if head.deleted or head.owner_id != owner_id:
                        return None
                    row = await _version_of(session, replica, head, version)
                    if row is not None:
                        return row
            if time.monotonic() >= deadline:
                return None
            await woken_or_after(arrived, pause)
            if time.monotonic() - started > EAGER_SECONDS:
                pause = min(2 * pause, LONGEST_PAUSE_SECONDS)


def _key(replica: Table) -> str:
    return f"{replica.schema}.{replica.name}"


# this process's version waits, woken by its own replica writer (another instance's write is
# found by the next look)
_arrivals = Wakeups()


class ResumeNotFound(Exception):
    """Unknown, deleted or another user's resume (or version) in this service's replica: all
    look the same from outside."""


def replica_projection(name: str, source_schema: str, replica: Table) -> Projection:
    """The replica as a projection the operator tooling can rebuild from resume events."""
    async def reset(session: AsyncSession) -> None:
        await session.execute(sa.delete(replica))

    async def apply(session: AsyncSession, envelope: EventEnvelope) -> None:
        await apply_resume_event(session, replica, envelope)

    return Projection(name, source_schema, frozenset(RESUME_EVENTS), reset, apply)


async def live_document(sessions: async_sessionmaker[AsyncSession], replica: Table,
                        owner_id: str, resume_id: str, version: int) -> dict[str, Any] | None:
    """The document of one version of the owner's live resume (what a job works on); None
    when the resume was deleted, or is not theirs."""
    async with sessions() as session:
        row = await owned_version(session, replica, owner_id, resume_id, version)
    return None if row is None else row.document  # type: ignore[no-any-return]
