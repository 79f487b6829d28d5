"""`dlq list|show|retry|drop` on dead letters made by a real runtime.bus.Consumer whose
handler fails (max_attempts=1, so the first failure dead-letters the message)."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import pytest

from contracts.envelope import EventEnvelope
from contracts.topology import dead_letter_queue
from runtime.bus import EVENTS, Consumer, make_broker
from runtime.lifecycle import start_broker
from tests.conftest import AMQP_URL
from tests.integration.cli.conftest import Cli

pytestmark = pytest.mark.usefixtures("amqp_url")  # the session's vhost


async def _failing(_envelope: EventEnvelope) -> None:
    raise RuntimeError("boom: the handler refused it")


def _envelope(stream: str, version: int) -> EventEnvelope:
    return EventEnvelope(event_id=uuid.uuid4(), event_type="Failing", stream_id=stream,
                         stream_version=version, occurred_at=datetime.now(UTC),
                         payload={"n": version})


async def _depth(channel: aio_pika.abc.AbstractChannel, queue: str) -> int:
    declared = await channel.declare_queue(queue, passive=True)
    return declared.declaration_result.message_count or 0


@pytest.fixture
async def dead_letters(amqp: aio_pika.abc.AbstractChannel, unique: str
                       ) -> AsyncIterator[tuple[str, list[EventEnvelope]]]:
    """Two dead letters of a stopped consumer `<unique>.failing`; both queues deleted after."""
    name, key = f"{unique}.failing", f"{unique}.Failing"
    broker = make_broker(AMQP_URL)
    await start_broker(broker, [Consumer(name, (key,), _failing, max_attempts=1)])
    envelopes = [_envelope(unique, 1), _envelope(unique, 2)]
    for envelope in envelopes:
        await broker.publish(envelope.model_dump_json().encode(), exchange=EVENTS,
                             routing_key=key, message_id=str(envelope.event_id),
                             content_type="application/json", persist=True)
    for _ in range(100):
        if await _depth(amqp, dead_letter_queue(name)) == 2:
            break
        await asyncio.sleep(0.05)
    await broker.stop()
    yield name, envelopes
    for queue in (name, dead_letter_queue(name)):
        await amqp.queue_delete(queue)


async def test_list_shows_dead_letters_with_their_error_without_consuming_them(
        cli: Cli, amqp: aio_pika.abc.AbstractChannel,
        dead_letters: tuple[str, list[EventEnvelope]]) -> None:
    name, envelopes = dead_letters
    for _ in range(2):  # listing twice shows the same letters: nothing was consumed
        result = await cli("dlq", "list", name, "--json")
        assert result.exit_code == 0, result.output
        listed = json.loads(result.stdout)
        assert [item["message_id"] for item in listed] == [str(e.event_id) for e in envelopes]
        assert all("boom" in item["error"] and item["event_type"] == "Failing"
                   for item in listed)
    assert await _depth(amqp, dead_letter_queue(name)) == 2
    table = await cli("dlq", "list", name)
    assert "boom" in table.stdout


async def test_show_prints_one_dead_letter_with_headers_and_body(
        cli: Cli, dead_letters: tuple[str, list[EventEnvelope]]) -> None:
    name, envelopes = dead_letters
    result = await cli("dlq", "show", name, str(envelopes[1].event_id))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["body"]["payload"] == {"n": 2}
    assert shown["headers"]["x-consumer"] == name and "boom" in shown["error"]
    missing = await cli("dlq", "show", name, str(uuid.uuid4()))
    assert missing.exit_code == 1 and "no dead letter" in missing.output


async def test_retry_puts_one_letter_back_on_the_consumer_queue_only(
        cli: Cli, amqp: aio_pika.abc.AbstractChannel,
        dead_letters: tuple[str, list[EventEnvelope]]) -> None:
    name, envelopes = dead_letters
    result = await cli("dlq", "retry", name, str(envelopes[0].event_id))
    assert result.exit_code == 0, result.output
    assert "requeued 1 message" in result.stdout

    consumer_queue = await amqp.declare_queue(name, passive=True)
    retried = await consumer_queue.get(no_ack=True, timeout=5)
    assert retried.message_id == str(envelopes[0].event_id)
    assert EventEnvelope.model_validate_json(retried.body) == envelopes[0]
    assert "x-error" not in (retried.headers or {})
    assert "boom" in str((retried.headers or {})["x-retried-after-error"])
    remaining = json.loads((await cli("dlq", "list", name, "--json")).stdout)
    assert [item["message_id"] for item in remaining] == [str(envelopes[1].event_id)]


async def test_drop_all_empties_the_dead_letter_queue(
        cli: Cli, amqp: aio_pika.abc.AbstractChannel,
        dead_letters: tuple[str, list[EventEnvelope]]) -> None:
    name, _ = dead_letters
    result = await cli("dlq", "drop", name, "--all")
    assert result.exit_code == 0, result.output
    assert "dropped 2 message" in result.stdout
    assert await _depth(amqp, dead_letter_queue(name)) == 0
    assert await _depth(amqp, name) == 0


async def test_retry_or_drop_needs_a_message_id_or_all(
        cli: Cli, dead_letters: tuple[str, list[EventEnvelope]]) -> None:
    name, envelopes = dead_letters
    neither = await cli("dlq", "retry", name)
    assert neither.exit_code == 2
    both = await cli("dlq", "drop", name, str(envelopes[0].event_id), "--all")
    assert both.exit_code == 2


async def test_dead_letters_of_an_unknown_consumer_fail_clearly(cli: Cli, unique: str) -> None:
    result = await cli("dlq", "list", f"{unique}.nobody")
    assert result.exit_code == 1 and "no queue named" in result.output
