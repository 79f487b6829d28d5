"""The outbox relay loses nothing and keeps each stream in order: across a broker restart, and
when one message of a pipelined batch fails while the others are confirmed."""

import asyncio
import uuid
from collections import defaultdict

import aio_pika
import asyncpg
import pytest
from sqlalchemy import MetaData, func, select
from sqlalchemy.schema import CreateSchema, DropSchema

from contracts.envelope import EventEnvelope
from contracts.topology import EVENTS_EXCHANGE
from resume_service.app import create_app
from resume_service.settings import ResumeSettings
from resume_service.tables import event_tables
from runtime.bus import EVENTS, make_broker
from runtime.db import asyncpg_dsn, make_engine, make_sessionmaker
from runtime.eventstore import EventStore, EventTables, NewEvent, define_event_tables
from runtime.outbox import OutboxRelay, PublishFailed
from tests.conftest import AMQP_URL, asgi_client
from tests.integration.runtime.broker_control import restart_broker

pytestmark = pytest.mark.usefixtures("amqp_url")  # the session's vhost

STREAMS, UPDATES = 12, 6


async def write_resumes(client, headers) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Create resumes and update them in rounds, slowly enough to span the outage."""
    versions: dict[str, int] = {}
    for _ in range(STREAMS):
        response = await client.post("/resume/create", json={"title": "v1"}, headers=headers)
        versions[response.json()["id"]] = 1
    for round_ in range(UPDATES):
        for rid in versions:
            response = await client.put(f"/resume/update/{rid}", headers=headers,
                                        json={"title": f"round {round_}"})
            assert response.status_code == 200, response.text
            versions[rid] += 1
        await asyncio.sleep(0.5)
    return versions


async def outbox_backlog(engine) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(event_tables.outbox))
                ).scalar_one()


async def drain(queue: aio_pika.abc.AbstractQueue,
                idle_seconds: float = 2.0) -> list[EventEnvelope]:
    received, idle_since = [], asyncio.get_running_loop().time()
    while asyncio.get_running_loop().time() - idle_since < idle_seconds:
        message = await queue.get(fail=False, no_ack=True)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        received.append(EventEnvelope.model_validate_json(message.body))
        idle_since = asyncio.get_running_loop().time()
    return received


@pytest.mark.timeout(240)
async def test_every_event_arrives_in_stream_order_across_a_broker_restart(
        service_env, as_user, user_id):
    queue_name = f"test.outbox-observer-{uuid.uuid4().hex[:8]}"
    async with await aio_pika.connect(AMQP_URL) as connection:  # closed by the restart anyway
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True)
        # as the app declares it (in a fresh vhost this test may come first)
        await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC,
                                       durable=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key="resume.#")
    engine = make_engine(service_env["database_url"])
    try:
        async for client in asgi_client(create_app(ResumeSettings(**service_env)),
                                     base_url="http://resume"):
            writer = asyncio.create_task(write_resumes(client, as_user(user_id)))
            await asyncio.sleep(1.0)
            await restart_broker(down_seconds=2.0)
            versions = await writer
            for _ in range(600):
                if await outbox_backlog(engine) == 0:
                    break
                await asyncio.sleep(0.1)
            assert await outbox_backlog(engine) == 0, "the relay did not drain the outbox"
    finally:
        await engine.dispose()
    async with await aio_pika.connect(AMQP_URL) as connection:  # a fresh one, after the restart
        channel = await connection.channel()
        received = await drain(await channel.declare_queue(queue_name, durable=True))
        await channel.queue_delete(queue_name)

    seen: dict[str, list[int]] = defaultdict(list)
    for event in received:
        if event.stream_id in versions and event.stream_version not in seen[event.stream_id]:
            seen[event.stream_id].append(event.stream_version)  # first delivery of each
    for rid, last in versions.items():
        assert seen[rid] == list(range(1, last + 1)), f"stream {rid}: {seen[rid]}"


PRODUCER = "relaytest"


@pytest.fixture
async def own_schema(database_url: str):  # type: ignore[no-untyped-def]
    """Event tables in a schema of the test's own (no other relay ever reads it)."""
    name = f"relaytest_{uuid.uuid4().hex[:8]}"
    tables = define_event_tables(MetaData(schema=name))
    engine = make_engine(database_url, pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(CreateSchema(name))
        await conn.run_sync(tables.events.metadata.create_all)
    try:
        yield tables, make_sessionmaker(engine)
    finally:
        async with engine.begin() as conn:
            await conn.execute(DropSchema(name, cascade=True))
        await engine.dispose()


async def append_interleaved(tables: EventTables, sessions, streams: list[str],  # type: ignore[no-untyped-def]
                             per_stream: int) -> list[tuple[str, int]]:
    """Version 1 of every stream, then version 2 of every stream...: (stream, version) in
    log order."""
    store, order = EventStore(tables, PRODUCER), []
    for version in range(1, per_stream + 1):
        for stream in streams:
            async with sessions.begin() as session:
                await store.append(session, stream, version - 1,
                                   [NewEvent("Happened", {"n": version})], user_id="u-1",
                                   correlation_id="corr-1", known_version=True)
            order.append((stream, version))
    return order


class Nacked(Exception):
    pass


class ObservedBroker:
    """The real broker, watched: how many publishes are in flight at most, and a nack (before
    anything is sent) for the first attempt of the chosen messages."""

    def __init__(self, broker, nack_once: set[str] = frozenset(),  # type: ignore[no-untyped-def, assignment]
                 after_first=None) -> None:  # type: ignore[no-untyped-def]
        self.broker, self.nack_once = broker, set(nack_once)
        self.in_flight = self.most_in_flight = 0
        self.after_first = after_first  # a coroutine function, awaited after the first confirm

    async def publish(self, body: bytes, **options) -> object:  # type: ignore[no-untyped-def]
        if options["message_id"] in self.nack_once:
            self.nack_once.discard(options["message_id"])
            raise Nacked(options["message_id"])
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            confirmed = await self.broker.publish(body, **options)
        finally:
            self.in_flight -= 1
        if self.after_first is not None:
            after, self.after_first = self.after_first, None
            await after()
        return confirmed


@pytest.fixture
async def observer(own_schema):  # type: ignore[no-untyped-def]
    """A started broker, and a queue bound to every event of the test's schema."""
    broker = make_broker(AMQP_URL)
    await broker.start()
    await broker.declare_exchange(EVENTS)
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    queue = await channel.declare_queue(f"test.relay-{uuid.uuid4().hex[:8]}", exclusive=True)
    await queue.bind(EVENTS.name, routing_key=f"{PRODUCER}.#")
    try:
        yield broker, queue
    finally:
        await connection.close()
        await broker.stop()


async def outbox_rows(conn: asyncpg.Connection, tables: EventTables) -> list[tuple[str, int]]:
    return [(r["stream_id"], r["stream_version"]) for r in await conn.fetch(
        f"SELECT e.stream_id, e.stream_version FROM {tables.schema}.outbox o "
        f"JOIN {tables.schema}.events e USING (global_position) ORDER BY global_position")]


async def test_a_batch_is_published_in_log_order_without_waiting_for_each_confirm(
        database_url, own_schema, observer) -> None:
    tables, sessions = own_schema
    broker, queue = observer
    streams = [f"s{i}-{uuid.uuid4().hex[:6]}" for i in range(5)]
    order = await append_interleaved(tables, sessions, streams, per_stream=3)
    watched = ObservedBroker(broker)
    relay = OutboxRelay(asyncpg_dsn(database_url), tables, watched)  # type: ignore[arg-type]
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        assert await relay.publish_pending(conn) == len(order)
        assert await outbox_rows(conn, tables) == []
    finally:
        await conn.close()
    received = [(e.stream_id, e.stream_version) for e in await drain(queue, idle_seconds=1.0)]
    assert received == order  # exactly the log's order, each once
    # one stream's next event waits for the confirm of its previous one: five at a time
    assert watched.most_in_flight == len(streams)


async def test_a_failure_mid_batch_resends_from_the_first_unconfirmed_row(
        database_url, own_schema, observer) -> None:
    tables, sessions = own_schema
    broker, queue = observer
    a, b, c, d = (f"{x}-{uuid.uuid4().hex[:6]}" for x in "abcd")
    order = await append_interleaved(tables, sessions, [a, b, c, d], per_stream=2)
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        nacked = str(await conn.fetchval(
            f"SELECT event_id FROM {tables.schema}.events WHERE stream_id = $1 "
            f"AND stream_version = 1", c))
        watched = ObservedBroker(broker, nack_once={nacked})
        relay = OutboxRelay(asyncpg_dsn(database_url), tables, watched)  # type: ignore[arg-type]
        with pytest.raises(PublishFailed):
            await relay.publish_pending(conn)
        # d's first event was confirmed after c's failed: it stays, to be sent again, and
        # the next wave (every stream's second event) was never sent
        assert await outbox_rows(conn, tables) == order[2:]
        assert relay.published_total == 2
        assert await relay.publish_pending(conn) == len(order) - 2
        assert await outbox_rows(conn, tables) == []
    finally:
        await conn.close()
    received = [(e.stream_id, e.stream_version) for e in await drain(queue, idle_seconds=1.0)]
    assert received == [(a, 1), (b, 1), (d, 1), *order[2:]]
    first: dict[str, list[int]] = defaultdict(list)
    for stream, version in received:
        if version not in first[stream]:
            first[stream].append(version)
    assert all(first[stream] == [1, 2] for stream in (a, b, c, d)), first


async def test_a_commit_made_while_a_batch_is_out_is_fetched_by_the_batch_s_delete(
        database_url, own_schema, observer) -> None:
    tables, sessions = own_schema
    broker, queue = observer
    streams = [f"s{i}-{uuid.uuid4().hex[:6]}" for i in range(3)]
    order = await append_interleaved(tables, sessions, streams, per_stream=1)
    late = f"late-{uuid.uuid4().hex[:6]}"

    async def commit_meanwhile() -> None:
        order.extend(await append_interleaved(tables, sessions, [late], per_stream=1))

    relay = OutboxRelay(asyncpg_dsn(database_url), tables,
                        ObservedBroker(broker, after_first=commit_meanwhile))  # type: ignore[arg-type]
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        assert await relay.publish_pending(conn) == 3
        assert await outbox_rows(conn, tables) == [(late, 1)]
        assert relay._next is not None and [r["stream_id"] for r in relay._next] == [late]
        assert await relay.publish_pending(conn) == 1
        assert relay._next is None and await outbox_rows(conn, tables) == []
    finally:
        await conn.close()
    received = [(e.stream_id, e.stream_version) for e in await drain(queue, idle_seconds=1.0)]
    assert received == order
