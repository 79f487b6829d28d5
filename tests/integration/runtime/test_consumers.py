"""Consumers on the real RabbitMQ and Postgres: duplicates change nothing, poison messages
go to the dead-letter queue while the rest keep flowing."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import orjson
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import EventEnvelope
from contracts.topology import EVENTS_EXCHANGE, dead_letter_queue
from runtime.bus import Consumer, make_broker
from runtime.consumers import idempotent
from runtime.db import make_engine, make_sessionmaker
from runtime.eventstore import define_event_tables
from runtime.lifecycle import start_broker
from tests.conftest import AMQP_URL

pytestmark = pytest.mark.usefixtures("amqp_url")  # the session's vhost

SCHEMA = "runtime_test"
metadata = MetaData(schema=SCHEMA)
tables = define_event_tables(metadata)
counters = Table("counters", metadata, Column("key", Text, primary_key=True),
                 Column("n", Integer, nullable=False))


@pytest.fixture(scope="module")
async def sessions(database_url: str) -> AsyncIterator:
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def count_once(session: AsyncSession, envelope: EventEnvelope) -> None:
    """A deliberately non-idempotent effect: only the consumer helper keeps it exact."""
    if envelope.payload.get("poison"):
        raise ValueError("this message can never be processed")
    key = envelope.payload["key"]
    await session.execute(insert(counters).values(key=key, n=0).on_conflict_do_nothing())
    await session.execute(update(counters).where(counters.c.key == key)
                          .values(n=counters.c.n + 1))


def envelope(prefix: str, **payload: object) -> EventEnvelope:
    return EventEnvelope(event_id=uuid.uuid4(), event_type="Counted", stream_id=prefix,
                         stream_version=1, occurred_at=datetime.now(UTC), payload=payload)


async def publish(channel: aio_pika.abc.AbstractChannel, key: str, env: EventEnvelope) -> None:
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    await exchange.publish(aio_pika.Message(orjson.dumps(env.model_dump(mode="json")),
                                            delivery_mode=2), routing_key=key)


async def counter(sessions, key: str) -> int | None:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return (await session.execute(select(counters.c.n).where(counters.c.key == key))
                ).scalar_one_or_none()


async def wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def consumer_setup(sessions) -> AsyncIterator:  # type: ignore[no-untyped-def]
    name = f"runtime_test.counter-{uuid.uuid4().hex[:8]}"
    key_prefix = f"test.{uuid.uuid4().hex[:8]}"
    consumer = Consumer(name, (f"{key_prefix}.#",),
                        idempotent(sessions, tables.processed, name, count_once),
                        max_attempts=2, retry_backoff_seconds=0.01)
    broker = make_broker(AMQP_URL)
    await start_broker(broker, [consumer])
    connection = await aio_pika.connect_robust(AMQP_URL)
    channel = await connection.channel()
    yield name, key_prefix, channel
    await broker.stop()
    for queue in (name, dead_letter_queue(name)):
        await channel.queue_delete(queue)
    await connection.close()


async def test_a_duplicate_delivery_changes_no_projection(sessions, consumer_setup):
    _, prefix, channel = consumer_setup
    first, marker = envelope(prefix, key=f"{prefix}-a"), envelope(prefix, key=f"{prefix}-b")
    await publish(channel, f"{prefix}.x", first)
    await publish(channel, f"{prefix}.x", first)  # redelivered: same event id
    await publish(channel, f"{prefix}.x", marker)
    await wait_for(lambda: _is(counter(sessions, f"{prefix}-b"), 1))
    assert await counter(sessions, f"{prefix}-a") == 1


async def test_poison_message_is_dead_lettered_while_later_messages_flow(sessions,
                                                                         consumer_setup):
    name, prefix, channel = consumer_setup
    poison = envelope(prefix, poison=True)
    await publish(channel, f"{prefix}.x", poison)
    for n in range(3):
        await publish(channel, f"{prefix}.x", envelope(prefix, key=f"{prefix}-{n}"))
    await wait_for(lambda: _all_counted(sessions, prefix, 3))
    dlq = await channel.declare_queue(dead_letter_queue(name), durable=True, passive=True)
    message = None
    for _ in range(100):
        message = await dlq.get(fail=False)
        if message:
            break
        await asyncio.sleep(0.05)
    assert message is not None, "the poison message never reached the dead-letter queue"
    await message.ack()
    assert EventEnvelope.model_validate_json(message.body).event_id == poison.event_id
    assert "can never be processed" in message.headers["x-error"]
    assert message.headers["x-consumer"] == name


async def test_undecodable_message_goes_straight_to_the_dead_letter_queue(consumer_setup):
    name, prefix, channel = consumer_setup
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    await exchange.publish(aio_pika.Message(b"not an envelope"), routing_key=f"{prefix}.x")
    dlq = await channel.declare_queue(dead_letter_queue(name), durable=True, passive=True)
    for _ in range(100):
        message = await dlq.get(fail=False)
        if message:
            await message.ack()
            assert "undecodable" in message.headers["x-error"]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("undecodable message was not dead-lettered")


async def _is(value_coro, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await value_coro == expected


async def _all_counted(sessions, prefix: str, n: int) -> bool:  # type: ignore[no-untyped-def]
    return all([await counter(sessions, f"{prefix}-{i}") == 1 for i in range(n)])
