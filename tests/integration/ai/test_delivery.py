"""The rating work queue's delivery rules: a duplicate RatingRequested never pays twice,
closers of one job racing each other record one outcome, and a message that cannot be handled
ends in the dead-letter queue with its error."""

import asyncio
import uuid
from typing import Any

import aio_pika
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from ai_service.domain import RATING_JOB
from ai_service.settings import AiSettings
from ai_service.tables import event_tables
from ai_service.wiring import build
from contracts.topology import AI_PRODUCER, EVENTS_EXCHANGE, dead_letter_queue, routing_key
from contracts.topology import AI_RATINGS_CONSUMER as RATINGS_CONSUMER
from runtime.eventstore import row_to_envelope
from runtime.jobs import JobState
from runtime.outbox import envelope_bytes
from tests.conftest import AMQP_URL
from tests.fakes.gemini import FakeGemini, Reply
from tests.integration.ai.conftest import (
    Headers,
    create_resume,
    rate_and_wait,
    request_rating,
    resume_document,
    token,
    wait_for_job,
)

pytestmark = pytest.mark.usefixtures("amqp_url")  # the session's vhost

REQUESTED_KEY = routing_key(AI_PRODUCER, "RatingRequested")


async def publish(body: bytes, message_id: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        await exchange.publish(aio_pika.Message(body, message_id=message_id,
                                                content_type="application/json"),
                               routing_key=REQUESTED_KEY)
    finally:
        await connection.close()


async def job_events(database_url: str, job_id: str) -> list[Any]:
    """The rows of a job's stream, in order."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            events = event_tables.events
            return list((await conn.execute(select(events).where(
                events.c.stream_id == job_id).order_by(events.c.stream_version))).all())
    finally:
        await engine.dispose()


async def test_a_redelivered_rating_request_does_not_call_the_model_again(
    ai_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, fake_gemini: FakeGemini,
    as_user: Headers, user_id: str, database_url: str,
) -> None:
    mark = token()
    resume_id, _ = await create_resume(resume_api, as_user(user_id), resume_document(mark))
    job = await rate_and_wait(ai_api, as_user(user_id), resume_id)
    envelope = row_to_envelope((await job_events(database_url, job["job_id"]))[0])

    await publish(envelope_bytes(envelope), str(envelope.event_id))
    await asyncio.sleep(1.0)
    assert fake_gemini.calls(mark) == 1
    status = await ai_api.get(f"/ai/ratings/{job['job_id']}", headers=as_user(user_id))
    assert status.json()["status"] == "succeeded" and status.json()["model_calls"] == 1


async def test_closers_racing_on_one_job_record_one_outcome(
    ai_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, fake_gemini: FakeGemini,
    as_user: Headers, user_id: str, ai_env: dict[str, object], database_url: str,
) -> None:
    """Each closer decides from the state it read, without a lock: the losers' appends fail
    on the stream's unique version key, they reload the row and find the job closed."""
    mark = token()
    fake_gemini.script(mark, Reply.good(delay=0.8))  # the app's own worker closes it late
    resume_id, _ = await create_resume(resume_api, as_user(user_id), resume_document(mark))
    requested = await request_rating(ai_api, as_user(user_id), resume_id)
    job_id = requested.json()["job_id"]
    components = build(AiSettings.model_validate(ai_env))
    try:
        row = await components.jobs.owned(user_id, job_id)
        assert row is not None and row.status in ("queued", "running")
        job = JobState.of_row(row)
        closed = await asyncio.gather(*(
            components.jobs.close(job, RATING_JOB.failed(job_id, "resume_unavailable",
                                                         f"closer {n}"))
            for n in range(3)))
    finally:
        await components.aclose()
    assert sorted(closed) == [False, False, True]
    final = await wait_for_job(ai_api, as_user(user_id), job_id)
    assert final["status"] == "failed"  # the app's worker, later, recorded nothing
    # the app's worker may have claimed it before the closers, never after: it finished
    types = [e.event_type for e in await job_events(database_url, job_id)]
    assert types in (["RatingRequested", "RatingFinished"],
                     ["RatingRequested", "RatingStarted", "RatingFinished"]), types


async def test_an_undecodable_rating_request_goes_to_the_dead_letter_queue(
    ai_api: httpx.AsyncClient,
) -> None:
    message_id = f"poison-{uuid.uuid4()}"
    await publish(b'{"not": "an envelope"}', message_id)
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        dlq = await channel.declare_queue(dead_letter_queue(RATINGS_CONSUMER), passive=True)
        for _ in range(100):
            message = await dlq.get(no_ack=False, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            if message.message_id == message_id:
                await message.ack()
                assert "undecodable envelope" in str(message.headers["x-error"])
                return
            await message.nack(requeue=True)
        raise AssertionError("the poison message never reached the dead-letter queue")
    finally:
        await connection.close()
