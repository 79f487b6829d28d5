"""The resume replicas' batch consumer (runtime.replica, runtime.consumers.BatchConsumer) on
the real RabbitMQ and PostgreSQL: what waits goes in a few statements and every message is
acknowledged, duplicates change nothing, a poison message goes to the dead-letter queue alone
while the rest go through, and a database that is down for longer than the retries used to
last (about 3 s) loses nothing and dead-letters nothing. The database taken down is a
throwaway cluster of this module's: the shared server stays up."""

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import aio_pika
import orjson
import pytest
from sqlalchemy import MetaData, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import EventEnvelope
from contracts.topology import EVENTS_EXCHANGE, dead_letter_queue
from runtime.bus import declare_consumer, make_broker
from runtime.consumers import BatchConsumer, Written
from runtime.db import make_engine
from runtime.lifecycle import start_broker
from runtime.logs import ContextFilter, TracePolicy, sampled
from runtime.replica import ReplicaWriter, define_resume_replica
from tests.conftest import AMQP_URL
from tests.integration.runtime.throwaway_postgres import ThrowawayPostgres, throwaway_postgres

pytestmark = pytest.mark.usefixtures("amqp_url")  # the session's vhost

SCHEMA = "runtime_replica_test"
metadata = MetaData(schema=SCHEMA)
replica = define_resume_replica(metadata)
OWNER = "replica-test-owner"


async def create_replica_table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        await conn.run_sync(metadata.create_all)


@pytest.fixture(scope="module")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    await create_replica_table(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayPostgres]:
    with throwaway_postgres() as pg:
        yield pg


@pytest.fixture
async def cluster_engine(cluster: ThrowawayPostgres) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/postgres")
    await create_replica_table(engine)
    yield engine
    await engine.dispose()


def resume_event(resume_id: str, version: int, event_type: str = "ResumeUpdated",
                 **payload: Any) -> bytes:
    """A resume event's envelope as the relay sends it."""
    document = {"title": f"v{version}", "template": "classic", "sections": []}
    envelope = EventEnvelope(
        event_id=uuid.uuid4(), event_type=event_type, stream_id=resume_id,
        stream_version=version, occurred_at=datetime.now(UTC), correlation_id=f"req-{version}",
        payload={"resume_id": resume_id, "owner_id": OWNER, "document": document, **payload})
    return orjson.dumps(envelope.model_dump(mode="json"))


class Replica:
    """A replica consumer on a queue of its own (bound to a key of its own), its writes'
    batch sizes recorded."""

    def __init__(self, engine: AsyncEngine, **options: Any) -> None:
        self.name = f"runtime_test.replica-{uuid.uuid4().hex[:8]}"
        self.key = f"test.{uuid.uuid4().hex[:8]}"
        self.writer = ReplicaWriter(engine, replica)
        self.batches: list[int] = []
        self.options = options

    async def write(self, bodies: Sequence[bytes]) -> Sequence[Written]:
        self.batches.append(len(bodies))
        return await self.writer.write(bodies)

    def consumer(self) -> BatchConsumer:
        return BatchConsumer(self.name, (self.key,), self.writer.write_one,
                             write_batch=self.write, **self.options)

    async def declare(self) -> None:
        """The queue alone, so messages can wait in it before the consumer starts."""
        broker = make_broker(AMQP_URL)
        await broker.start()
        await declare_consumer(broker, self.name, (self.key,))
        await broker.stop()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        broker = make_broker(AMQP_URL)
        await start_broker(broker, [self.consumer()])
        try:
            yield
        finally:
            await broker.stop()


@pytest.fixture
async def channel() -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(AMQP_URL)
    yield await connection.channel(publisher_confirms=True)
    await connection.close()


async def publish(channel: aio_pika.abc.AbstractChannel, key: str, *bodies: bytes) -> None:
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    for body in bodies:
        await exchange.publish(aio_pika.Message(body, delivery_mode=2), routing_key=key)


async def depth(channel: aio_pika.abc.AbstractChannel, queue: str) -> int:
    declared = await channel.declare_queue(queue, passive=True)
    return declared.declaration_result.message_count or 0


async def wait_for_depth(channel: aio_pika.abc.AbstractChannel, queue: str, expected: int,
                         timeout: float = 10.0) -> None:
    """The broker puts a closed channel's unacknowledged messages back a moment later."""
    deadline = time.monotonic() + timeout
    while (ready := await depth(channel, queue)) != expected:
        assert time.monotonic() < deadline, f"{queue} holds {ready} messages, not {expected}"
        await asyncio.sleep(0.05)


async def assert_all_acknowledged(channel: aio_pika.abc.AbstractChannel, queue: str) -> None:
    """After the consumer stopped: nothing unacknowledged came back to the queue."""
    await asyncio.sleep(0.5)
    assert await depth(channel, queue) == 0


async def dead_letters(channel: aio_pika.abc.AbstractChannel, consumer: str,
                       ) -> list[aio_pika.abc.AbstractIncomingMessage]:
    dlq = await channel.declare_queue(dead_letter_queue(consumer), passive=True)
    letters = []
    while (letter := await dlq.get(no_ack=True, fail=False)) is not None:
        letters.append(letter)
    return letters


async def rows(engine: AsyncEngine, *resume_ids: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(replica).where(
            replica.c.resume_id.in_(resume_ids)))).scalar_one())


async def wait_for_rows(engine: AsyncEngine, resume_ids: Sequence[str], expected: int,
                        timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (held := await rows(engine, *resume_ids)) != expected:
        assert time.monotonic() < deadline, f"the replica holds {held} of {expected} rows"
        await asyncio.sleep(0.05)


async def test_what_waits_is_written_in_a_few_batches_and_every_message_is_acknowledged(
        engine: AsyncEngine, channel: aio_pika.abc.AbstractChannel) -> None:
    replica_consumer, resume_id = Replica(engine), str(uuid.uuid4())
    await replica_consumer.declare()
    await publish(channel, replica_consumer.key,
                  *(resume_event(resume_id, v) for v in range(1, 61)))
    async with replica_consumer.running():
        await wait_for_rows(engine, [resume_id], 60)
    assert sum(replica_consumer.batches) == 60
    assert len(replica_consumer.batches) <= 10, replica_consumer.batches
    await assert_all_acknowledged(channel, replica_consumer.name)


async def test_duplicates_and_replays_change_nothing(
        engine: AsyncEngine, channel: aio_pika.abc.AbstractChannel) -> None:
    replica_consumer, resume_id = Replica(engine), str(uuid.uuid4())
    first = resume_event(resume_id, 1)
    async with replica_consumer.running():
        await publish(channel, replica_consumer.key, first, first, resume_event(resume_id, 2))
        await wait_for_rows(engine, [resume_id], 2)
        # a replay reaches the one queue through the default exchange
        await channel.default_exchange.publish(aio_pika.Message(first),
                                               routing_key=replica_consumer.name)
        await publish(channel, replica_consumer.key, resume_event(resume_id, 1, owner_id="x"))
        await publish(channel, replica_consumer.key, resume_event(resume_id, 3))
        await wait_for_rows(engine, [resume_id], 3)
    async with engine.connect() as conn:
        owners = (await conn.execute(select(replica.c.owner_id).distinct().where(
            replica.c.resume_id == resume_id))).scalars().all()
    assert owners == [OWNER]  # the first copy of version 1 stayed
    await assert_all_acknowledged(channel, replica_consumer.name)


async def test_what_the_resume_store_holds_beside_resume_events_is_acknowledged_unwritten(
        engine: AsyncEngine, channel: aio_pika.abc.AbstractChannel) -> None:
    """A replay from resume_service's store sends its shares' events too."""
    replica_consumer, resume_id, share_id = Replica(engine), str(uuid.uuid4()), str(uuid.uuid4())
    async with replica_consumer.running():
        await publish(channel, replica_consumer.key, resume_event(share_id, 1, "ShareCreated"),
                      resume_event(resume_id, 1))
        await wait_for_rows(engine, [resume_id], 1)
        await assert_all_acknowledged(channel, replica_consumer.name)
    assert await rows(engine, share_id) == 0


async def test_a_poison_message_is_dead_lettered_alone_and_the_rest_go_through(
        engine: AsyncEngine, channel: aio_pika.abc.AbstractChannel) -> None:
    replica_consumer = Replica(engine, max_attempts=2, retry_backoff_seconds=0.01)
    resume_id = str(uuid.uuid4())
    await replica_consumer.declare()
    good = [resume_event(resume_id, v) for v in range(1, 11)]
    poison = resume_event(str(uuid.uuid4()), 1, owner_id=None)
    await publish(channel, replica_consumer.key, *good[:5], poison, b"not an envelope",
                  *good[5:])
    async with replica_consumer.running():
        await wait_for_rows(engine, [resume_id], 10)
        deadline = time.monotonic() + 20
        letters: list[aio_pika.abc.AbstractIncomingMessage] = []
        while len(letters) < 2 and time.monotonic() < deadline:
            letters += await dead_letters(channel, replica_consumer.name)
            await asyncio.sleep(0.05)
    errors = sorted(str((letter.headers or {})["x-error"]) for letter in letters)
    assert len(errors) == 2, errors
    assert "owner_id" in errors[0] and errors[1].startswith("undecodable envelope"), errors
    assert {letter.body for letter in letters} == {poison, b"not an envelope"}
    await assert_all_acknowledged(channel, replica_consumer.name)


class Lines(logging.Handler):
    """The consumers' records, each stamped with its request id (as the services' are)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(ContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def consumer_lines() -> Iterator[Lines]:
    logger, lines = logging.getLogger("runtime.consumers"), Lines()
    level = logger.level
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    yield lines
    logger.removeHandler(lines)
    logger.setLevel(level)


async def test_handled_lines_follow_the_trace_policy_and_the_rest_are_debug(
        engine: AsyncEngine, channel: aio_pika.abc.AbstractChannel,
        consumer_lines: Lines) -> None:
    policy = TracePolicy("sampled", sample_every=3, slow_seconds=60.0)
    replica_consumer, resume_id = Replica(engine, trace=policy), str(uuid.uuid4())
    async with replica_consumer.running():
        await publish(channel, replica_consumer.key,
                      *(resume_event(resume_id, v) for v in range(1, 13)))
        await wait_for_rows(engine, [resume_id], 12)
    lines = {getattr(r, "request_id", None): r.levelno for r in consumer_lines.records
             if replica_consumer.name in r.getMessage() and "handled" in r.getMessage()}
    expected = {f"req-{v}": logging.INFO if sampled(f"req-{v}", 3) else logging.DEBUG
                for v in range(1, 13)}
    assert lines == expected
    assert logging.INFO in lines.values() and logging.DEBUG in lines.values()


async def test_a_database_down_for_longer_than_the_retries_loses_and_dead_letters_nothing(
        cluster: ThrowawayPostgres, cluster_engine: AsyncEngine,
        channel: aio_pika.abc.AbstractChannel) -> None:
    replica_consumer, resume_id = Replica(cluster_engine), str(uuid.uuid4())  # 5 attempts
    async with replica_consumer.running():
        await publish(channel, replica_consumer.key,
                      *(resume_event(resume_id, v) for v in range(1, 6)))
        await wait_for_rows(cluster_engine, [resume_id], 5)
        await asyncio.to_thread(cluster.stop)
        try:
            for version in range(6, 26):  # writers keep writing meanwhile
                await publish(channel, replica_consumer.key, resume_event(resume_id, version))
                await asyncio.sleep(0.3)
            assert await dead_letters(channel, replica_consumer.name) == []
        finally:
            await asyncio.to_thread(cluster.start)
        await wait_for_rows(cluster_engine, [resume_id], 25)
    assert await dead_letters(channel, replica_consumer.name) == []
    await assert_all_acknowledged(channel, replica_consumer.name)


async def test_a_consumer_stopped_while_the_database_is_down_leaves_its_messages_queued(
        cluster: ThrowawayPostgres, cluster_engine: AsyncEngine,
        channel: aio_pika.abc.AbstractChannel) -> None:
    replica_consumer, resume_id = Replica(cluster_engine), str(uuid.uuid4())
    async with replica_consumer.running():
        await publish(channel, replica_consumer.key, resume_event(resume_id, 1))
        await wait_for_rows(cluster_engine, [resume_id], 1)
        await asyncio.to_thread(cluster.stop)
        await publish(channel, replica_consumer.key,
                      *(resume_event(resume_id, v) for v in range(2, 7)))
        await asyncio.sleep(1.0)  # delivered, and held while the database is away
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 3.0, "the stop waited for the database"
    try:
        await wait_for_depth(channel, replica_consumer.name, 5)
        assert await dead_letters(channel, replica_consumer.name) == []
    finally:
        await asyncio.to_thread(cluster.start)
    async with replica_consumer.running():
        await wait_for_rows(cluster_engine, [resume_id], 6)
