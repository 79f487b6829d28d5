"""The outbox relay loses nothing and keeps each stream in order across a broker restart."""

import asyncio
import uuid
from collections import defaultdict

import aio_pika
import pytest
from sqlalchemy import func, select

from contracts.envelope import EventEnvelope
from contracts.topology import EVENTS_EXCHANGE
from resume_service.app import create_app
from resume_service.settings import ResumeSettings
from resume_service.tables import event_tables
from runtime.db import make_engine
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
