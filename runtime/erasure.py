"""The pieces a service's account erasure is made of (docs/architecture.md, Privacy).

An erasure rewrites the user's stored events to tombstones (contracts.erasure_events) instead
of encrypting payloads: appends project payloads inside PostgreSQL and the relay sends stored
payloads as they are, which ciphertext would break on every save, while erasures are rare.

- `erased_users` (one small table per schema, filled by the service's erasure consumer in the
  transaction that starts its erasure): consumers drop an event of a user in it
  (`drop_erased`), the replicas' batch INSERT filters on it in SQL (runtime.replica).
- `tombstone`: the user's events (their envelope's user, or a stream the service says is
  theirs) become tombstones in place, and their outbox rows go, so the relay never sends them.
- `drain_dead_letters`: what waits in a consumer's `.dlq`, less the user's messages.
- `erasure_consumer` / `record_completion`: the consumer of `AccountErased`, and the
  `ErasureCompleted` each service appends (and its relay publishes) once it is done.
"""

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import aio_pika
import sqlalchemy as sa
from aio_pika.exceptions import ChannelNotFoundEntity
from alembic.operations import Operations
from sqlalchemy import Column, DateTime, MetaData, Table, Text, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from contracts.auth_events import AccountErased
from contracts.envelope import EventEnvelope
from contracts.erasure_events import (
    TOMBSTONE_EVENT_TYPE,
    TOMBSTONE_PAYLOAD,
    TOMBSTONE_SCHEMA_VERSION,
    ErasureCompleted,
    tombstone_metadata,
)
from contracts.topology import CONSUMERS, dead_letter_queue
from runtime.bus import Consumer
from runtime.db import json_text
from runtime.eventstore import EventStore, EventTables, NewEvent

log = logging.getLogger(__name__)

# kept as they are when a user's events are tombstoned: they hold ids only, and they are the
# erasure's own record
KEPT_EVENT_TYPES = (TOMBSTONE_EVENT_TYPE, AccountErased.event_type, ErasureCompleted.event_type)


def define_erased_users(metadata: MetaData) -> Table:
    return Table(
        "erased_users", metadata,
        Column("user_id", Text, primary_key=True),
        Column("erased_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def create_erased_users(op: Operations, schema: str) -> None:
    op.create_table(
        "erased_users",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        schema=schema,
    )


class ErasedCheck(Protocol):
    async def contains(self, user_id: str) -> bool: ...


@dataclass
class ErasedUsers:
    """Who was erased, as a service's consumers ask it. A user once erased stays erased, so a
    yes is remembered in the process; a no is asked of the table every time."""

    engine: AsyncEngine
    table: Table
    _known: set[str] = field(default_factory=set)
    _query: Any = field(init=False)

    def __post_init__(self) -> None:
        self._query = select(self.table.c.user_id).where(
            self.table.c.user_id == sa.bindparam("user_id"))

    async def contains(self, user_id: str) -> bool:
        if user_id in self._known:
            return True
        async with self.engine.connect() as conn:
            found = (await conn.execute(self._query, {"user_id": user_id})).first() is not None
        if found:
            self._known.add(user_id)
        return found

    async def add(self, conn: AsyncConnection | AsyncSession, user_id: str) -> None:
        await conn.execute(insert(self.table).values(user_id=user_id).on_conflict_do_nothing())


def owner_of(envelope: EventEnvelope) -> str | None:
    """Whose data an event is: the payload's `owner_id` (a share's views are recorded on
    behalf of nobody), else the envelope's user."""
    owner = envelope.payload.get("owner_id")
    return owner if isinstance(owner, str) and owner else envelope.user_id


def drop_erased(consumer: Consumer, erased: ErasedCheck) -> Consumer:
    """`consumer`, acknowledging without handling every event of an erased user (one still
    queued when the user was erased, or sent again by a replay)."""
    handler = consumer.handler

    async def unless_erased(envelope: EventEnvelope) -> None:
        owner = owner_of(envelope)
        if owner is not None and await erased.contains(owner):
            log.info("%s dropped %s of an erased user", consumer.name, envelope.event_type)
            return
        await handler(envelope)

    consumer.handler = unless_erased
    return consumer


async def tombstone(conn: AsyncConnection | AsyncSession, tables: EventTables, user_id: str,
                    streams: Sequence[str] = ()) -> int:
    """Rewrite the user's events (by the envelope's user, or in one of `streams`) to
    tombstones, keeping position, event id, stream and version; their outbox rows go. The
    number of events rewritten."""
    schema = tables.schema
    rows = (await conn.execute(text(f"""
        WITH erased AS (
            UPDATE "{schema}".events
            SET event_type = :tombstone, schema_version = :tombstone_version,
                payload = CAST(:payload AS jsonb), metadata = CAST(:metadata AS jsonb)
            WHERE (metadata->>'user_id' = :user_id OR stream_id = ANY(:streams))
              AND event_type <> ALL(:kept)
            RETURNING global_position
        ), unqueued AS (
            DELETE FROM "{schema}".outbox
            WHERE global_position IN (SELECT global_position FROM erased)
        )
        SELECT count(*) FROM erased"""), {
        "tombstone": TOMBSTONE_EVENT_TYPE, "tombstone_version": TOMBSTONE_SCHEMA_VERSION,
        "payload": json_text(TOMBSTONE_PAYLOAD), "metadata": json_text(
            tombstone_metadata(user_id)), "user_id": user_id, "streams": list(streams),
        "kept": list(KEPT_EVENT_TYPES)})).scalar_one()
    return int(rows)


def completion_stream(erasure_id: str, service: str) -> str:
    return f"erasure-{erasure_id}-{service}"


async def record_completion(conn: AsyncConnection | AsyncSession, store: EventStore,
                            erased: AccountErased, service: str) -> None:
    """Append `ErasureCompleted` once per (erasure, service): a redelivered erasure that
    finds it recorded appends nothing."""
    stream = completion_stream(erased.erasure_id, service)
    if await store.stream_version(conn, stream) > 0:
        return
    event = ErasureCompleted(user_id=erased.user_id, erasure_id=erased.erasure_id,
                             service=service)
    await store.append(conn, stream, 0, [NewEvent(event.event_type, event.model_dump())],
                       user_id=erased.user_id, known_version=True)


def consumers_of(service: str) -> list[str]:
    """The consumers (queues) a service runs: named `<service>.<purpose>`."""
    return [name for name in CONSUMERS if name.split(".", 1)[0] == service]


def holds_user(body: bytes, user_id: str) -> bool:
    """Whether a message is about the user: every envelope of theirs names their id (as its
    user or its payload's owner), and ids are UUIDs, which nothing else spells by chance;
    an undecodable body is judged the same way."""
    return user_id.encode() in body


async def drain_dead_letters(amqp_url: str, consumers: Iterable[str], user_id: str) -> int:
    """Take every message waiting in each consumer's dead-letter queue and put back those
    not of the user (with their headers); the number dropped. Only the messages there when
    it starts are taken, so the ones it puts back are not taken twice."""
    dropped = 0
    async with await aio_pika.connect(amqp_url) as connection:
        for consumer in consumers:
            # a channel each: a queue not declared yet closes the channel that asked
            async with await connection.channel(publisher_confirms=True) as channel:
                dropped += await _drain(channel, dead_letter_queue(consumer), user_id)
    return dropped


async def _drain(channel: aio_pika.abc.AbstractChannel, name: str, user_id: str) -> int:
    try:
        queue = await channel.declare_queue(name, durable=True, passive=True)
    except ChannelNotFoundEntity:
        return 0  # no dead letter was ever queued there
    waiting, dropped = queue.declaration_result.message_count or 0, 0
    for _ in range(waiting):
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        if holds_user(message.body, user_id):
            dropped += 1
        else:
            await channel.default_exchange.publish(aio_pika.Message(
                message.body, headers=message.headers, content_type=message.content_type,
                message_id=message.message_id, correlation_id=message.correlation_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=name)
        await message.ack()
    return dropped


Erase = Callable[[AccountErased], Awaitable[None]]


def erasure_consumer(name: str, erase: Erase, max_attempts: int = 5) -> Consumer:
    """The consumer of `AccountErased` for one service: `erase` does the service's part and
    records its completion; it is idempotent, so a redelivery erases nothing twice."""
    async def handle(envelope: EventEnvelope) -> None:
        await erase(AccountErased.model_validate(envelope.payload))

    return Consumer(name, CONSUMERS[name], handle, max_attempts=max_attempts, prefetch=1)


async def delete_keys(redis: Any, pattern: str) -> int:
    """Delete every Redis key matching `pattern` (SCAN, never KEYS); the number deleted."""
    deleted = 0
    batch: list[bytes] = []
    async for key in redis.scan_iter(match=pattern, count=500):
        batch.append(key)
        if len(batch) >= 500:
            deleted += await redis.delete(*batch)
            batch = []
    if batch:
        deleted += await redis.delete(*batch)
    return deleted


BeforeRows = Callable[[AsyncConnection, str], Awaitable[None]]


@dataclass
class JobServiceErasure:
    """The erasure of a service whose user data is its log, its `jobs` read model and its
    resume replica (compile_service, ai_service): mark the user erased, drain the service's
    dead letters, run `before_rows` (what must be read from the rows before they go: the
    artifacts of compile_service), then in one transaction tombstone the user's events, delete
    their jobs and replica rows and record `ErasureCompleted`. Each step is idempotent, so a
    redelivered `AccountErased` does it again harmlessly."""

    service: str
    engine: AsyncEngine
    store: EventStore
    erased: ErasedUsers
    jobs: Table
    replica: Table
    amqp_url: str
    before_rows: BeforeRows | None = None

    async def erase(self, erasure: AccountErased) -> None:
        user_id = erasure.user_id
        async with self.engine.begin() as conn:
            await self.erased.add(conn, user_id)  # from here on, its consumers drop them
        await drain_dead_letters(self.amqp_url, consumers_of(self.service), user_id)
        if self.before_rows is not None:
            async with self.engine.connect() as conn:
                await self.before_rows(conn, user_id)
        async with self.engine.begin() as conn:
            job_ids = list((await conn.execute(select(self.jobs.c.job_id).where(
                self.jobs.c.owner_id == user_id))).scalars())
            await tombstone(conn, self.store.tables, user_id, job_ids)
            await conn.execute(sa.delete(self.jobs).where(self.jobs.c.owner_id == user_id))
            await conn.execute(sa.delete(self.replica).where(
                self.replica.c.owner_id == user_id))
            await record_completion(conn, self.store, erasure, self.service)
