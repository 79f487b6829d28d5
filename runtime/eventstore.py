"""Append-only event log in one Postgres schema, with a transactional outbox.

Appends in a schema are serialized by a transaction-scoped advisory lock, taken by the append
statement itself before it numbers its rows, so global positions commit in increasing order: a
reader tailing by position never skips a row that commits later with a lower position. The
expected-version check is read before the lock; the unique (stream_id, stream_version) key
refuses an append that lost a race to it.
"""

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import TextClause

from contracts.envelope import EventEnvelope
from contracts.upcasting import upcast
from runtime.context import current_causation_id, current_request_id
from runtime.db import json_text
from runtime.metrics import ServiceMetrics


class VersionConflict(Exception):
    """The stream moved on since the caller read it."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream_id}: expected version {expected}, found {actual}")
        self.stream_id, self.expected, self.actual = stream_id, expected, actual


@dataclass(frozen=True)
class NewEvent:
    event_type: str
    payload: dict[str, Any]
    schema_version: int = 1


@dataclass(frozen=True)
class EventTables:
    events: Table
    outbox: Table
    processed: Table

    @property
    def schema(self) -> str:
        assert self.events.schema is not None
        return self.events.schema


def define_event_tables(metadata: MetaData) -> EventTables:
    """The event log, the outbox and the consumers' processed-event record for one schema."""
    events = Table(
        "events", metadata,
        Column("global_position", BigInteger, Identity(always=False), primary_key=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("stream_id", Text, nullable=False),
        Column("stream_version", Integer, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("schema_version", Integer, nullable=False, server_default="1"),
        Column("payload", JSONB, nullable=False),
        Column("metadata", JSONB, nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        UniqueConstraint("stream_id", "stream_version"),
    )
    outbox = Table(
        "outbox", metadata,
        Column("global_position", BigInteger,
               ForeignKey(events.c.global_position, ondelete="CASCADE"), primary_key=True),
        Column("routing_key", Text, nullable=False),
    )
    processed = Table(
        "processed_events", metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return EventTables(events, outbox, processed)


def schema_lock_key(schema: str, purpose: str) -> int:
    """A stable 32-bit advisory-lock key for (schema, purpose)."""
    return zlib.crc32(f"{schema}:{purpose}".encode())


def outbox_channel(schema: str) -> str:
    return f"{schema}_outbox"


def row_to_envelope(row: Any) -> EventEnvelope:
    """A stored event as today's code reads it (contracts.upcasting)."""
    meta = row.metadata or {}
    event_type, schema_version, payload = upcast(row.event_type, row.schema_version,
                                                 row.payload)
    return EventEnvelope(
        event_id=row.event_id, event_type=event_type, schema_version=schema_version,
        stream_id=row.stream_id, stream_version=row.stream_version,
        global_position=row.global_position, occurred_at=row.recorded_at,
        user_id=meta.get("user_id"), correlation_id=meta.get("correlation_id"),
        causation_id=meta.get("causation_id"), payload=payload,
    )


@dataclass
class EventStore:
    """The store of one schema. `metrics`, the owning service's, counts appended events
    (`rb_events_appended_total` by event type); without it nothing is counted.

    `inline_projection`: SQL of more common table expressions (`name AS (...)`, comma
    separated) that the append statement runs after it has inserted the events; they read the
    `appended` rows (global_position, event_id, stream_version, event_type, payload,
    recorded_at) and the `:stream_id` parameter. A read model written that way moves with the
    log in the same statement: one round trip for the whole write."""

    tables: EventTables
    producer: str
    metrics: ServiceMetrics | None = None
    inline_projection: str | None = None
    _counters: dict[str, Any] = field(init=False, default_factory=dict)  # by event type
    _lock_key: int = field(init=False)
    _append_sql: TextClause = field(init=False)
    _version_sql: Select[Any] = field(init=False)
    _lock_sql: TextClause = field(
        init=False, default=text("SELECT pg_advisory_xact_lock(:lock_key)"))

    def __post_init__(self) -> None:
        self._lock_key = schema_lock_key(self.tables.schema, "append")
        self._append_sql = self._append_and_queue_sql()
        ev = self.tables.events
        self._version_sql = select(func.coalesce(func.max(ev.c.stream_version), 0)).where(
            ev.c.stream_id == bindparam("stream_id"))

    async def append(
        self, session: AsyncSession | AsyncConnection, stream_id: str, expected_version: int,
        events: Sequence[NewEvent], *, user_id: str | None,
        causation_id: str | None = None, correlation_id: str | None = None,
        known_version: bool = False,
    ) -> list[EventEnvelope]:
        """Append after `expected_version` (0 for a new stream) and queue the events in the
        outbox, in the caller's transaction. Raises VersionConflict when the stream moved.

        `known_version`: the caller knows `expected_version` already (a new stream, or the
        version of its read-model row, read under a lock or just before), so the version
        query is skipped; the unique (stream_id, stream_version) key still refuses a lost
        race, as a VersionConflict."""
        if not known_version:
            actual = await self.stream_version(session, stream_id)
            if actual != expected_version:
                raise VersionConflict(stream_id, expected_version, actual)
        metadata = {
            "user_id": user_id,
            "correlation_id": correlation_id or current_request_id(),
            "causation_id": causation_id or current_causation_id(),
        }
        try:
            result = await session.execute(self._append_sql, {
                "lock_key": self._lock_key, "stream_id": stream_id,
                "metadata": json_text(metadata), "producer": self.producer,
                "versions": [expected_version + i for i in range(1, len(events) + 1)],
                "event_types": [e.event_type for e in events],
                "schema_versions": [e.schema_version for e in events],
                "payloads": [json_text(e.payload) for e in events]})
        except IntegrityError as error:
            if "stream_version" not in str(error.orig):
                raise
            raise VersionConflict(stream_id, expected_version, expected_version + 1) from error
        # built without validating again: every field comes from this call or the database
        stored = [
            EventEnvelope.model_construct(
                event_id=row.event_id, event_type=event.event_type,
                schema_version=event.schema_version, stream_id=stream_id,
                stream_version=expected_version + n, global_position=row.global_position,
                occurred_at=row.recorded_at, user_id=user_id,
                correlation_id=metadata["correlation_id"],
                causation_id=metadata["causation_id"], payload=event.payload, replay=False)
            for n, (event, row) in enumerate(zip(events, result.all(), strict=True), start=1)
        ]
        if self.metrics is not None:
            self._count(events, self.metrics)
        return stored  # the outbox's statement trigger sends NOTIFY to wake the relay

    async def lock_appends(self, session: AsyncSession | AsyncConnection) -> None:
        """Hold this schema's append lock until the transaction ends: no other append can
        commit meanwhile, so what the transaction reads now stays current until it appends
        (the append statement takes the same lock again, which it already holds)."""
        await session.execute(self._lock_sql, {"lock_key": self._lock_key})

    def _count(self, events: Sequence[NewEvent], metrics: ServiceMetrics) -> None:
        # counted in a transaction not yet committed (a rollback after this is rare); the
        # labelled counters are looked up once per event type: labels() is slow
        for event in events:
            counter = self._counters.get(event.event_type)
            if counter is None:
                counter = metrics.events_appended.labels(event.event_type)
                self._counters[event.event_type] = counter
            counter.inc()

    def _append_and_queue_sql(self) -> TextClause:
        """One statement, the same text every time (so prepared and cached once): take the
        schema's append lock, insert the events, given as parallel arrays in order, and their
        outbox rows; return positions. The identity column numbers the rows in the arrays'
        order (`ORDER BY n`); no row reaches the numbering before the join with `locked` has
        produced its one row, so the lock is held before the first position is drawn."""
        schema = self.tables.schema
        projection = f", {self.inline_projection}" if self.inline_projection else ""
        return text(f"""
            WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(:lock_key)),
            appended AS (
                INSERT INTO "{schema}".events (event_id, stream_id, stream_version, event_type,
                                               schema_version, payload, metadata)
                SELECT gen_random_uuid(), :stream_id, stream_version, event_type,
                       schema_version, payload::jsonb, CAST(:metadata AS jsonb)
                FROM unnest(CAST(:versions AS int[]), CAST(:event_types AS text[]),
                            CAST(:schema_versions AS int[]), CAST(:payloads AS text[]))
                     WITH ORDINALITY AS e(stream_version, event_type, schema_version,
                                          payload, n)
                     CROSS JOIN locked
                ORDER BY n
                RETURNING global_position, event_id, recorded_at, event_type, stream_version,
                          payload
            ), queued AS (
                INSERT INTO "{schema}".outbox (global_position, routing_key)
                SELECT global_position, :producer || '.' || event_type FROM appended
            ){projection}
            SELECT global_position, event_id, recorded_at FROM appended
            ORDER BY stream_version""")

    async def stream_version(self, session: AsyncSession | AsyncConnection, stream_id: str) -> int:
        return int((await session.execute(self._version_sql, {"stream_id": stream_id})
                    ).scalar_one())

    async def read_stream(
        self, session: AsyncSession, stream_id: str, up_to: int | None = None,
    ) -> list[EventEnvelope]:
        ev = self.tables.events
        query = select(ev).where(ev.c.stream_id == stream_id).order_by(ev.c.stream_version)
        if up_to is not None:
            query = query.where(ev.c.stream_version <= up_to)
        return [row_to_envelope(r) for r in (await session.execute(query)).all()]

    async def read_all(
        self, session: AsyncSession, after_position: int = 0, limit: int = 1000,
    ) -> list[EventEnvelope]:
        """Events in commit order after a global position (see the module docstring)."""
        ev = self.tables.events
        query = (select(ev).where(ev.c.global_position > after_position)
                 .order_by(ev.c.global_position).limit(limit))
        return [row_to_envelope(r) for r in (await session.execute(query)).all()]

