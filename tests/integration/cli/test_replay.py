"""`replay`: stored events go to one consumer's queue only, marked as a replay, in log order;
no queue bound to the events exchange sees them."""

import json
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest

from runtime.bus import EVENTS, consumer_queue
from tests.conftest import TEST_DATABASE_URL
from tests.integration.cli.conftest import Cli
from tests.integration.cli.helpers import resume_writer


async def _drain(queue: aio_pika.abc.AbstractQueue) -> list[dict[str, Any]]:
    bodies = []
    while (message := await queue.get(no_ack=True, fail=False, timeout=5)) is not None:
        bodies.append({"headers": message.headers, **json.loads(message.body)})
    return bodies


@pytest.fixture
async def queues(amqp: aio_pika.abc.AbstractChannel, unique: str
                 ) -> AsyncIterator[tuple[str, aio_pika.abc.AbstractQueue,
                                          aio_pika.abc.AbstractQueue]]:
    """A consumer queue named like the real ones (`<service>.resumes`), declared as the bus
    declares them, and an observer bound to every resume event on the events exchange."""
    name = f"{unique}.resumes"
    spec = consumer_queue(name, "unused.binding")
    target = await amqp.declare_queue(name, durable=True, arguments=spec.arguments)
    events = await amqp.declare_exchange(EVENTS.name, aio_pika.ExchangeType.TOPIC, durable=True)
    observer = await amqp.declare_queue(f"{unique}.observer", exclusive=True)
    await observer.bind(events, routing_key="resume.#")
    yield name, target, observer
    await target.delete(if_unused=False, if_empty=False)
    await observer.delete(if_unused=False, if_empty=False)


async def _two_streams() -> tuple[str, str]:
    async with resume_writer(TEST_DATABASE_URL) as writer:
        mine = await writer.create("replayed")
        other = await writer.create("not replayed")
        await writer.update(mine, "replayed 2")
        await writer.update(other, "not replayed 2")
        await writer.delete(mine)
    return mine, other


async def test_replay_sends_one_stream_to_one_queue_only_marked_as_replay(
        cli: Cli, queues: tuple[str, Any, Any]) -> None:
    name, target, observer = queues
    mine, _ = await _two_streams()
    result = await cli("replay", "--to", name, "--from-position", "1", "--stream", mine)
    assert result.exit_code == 0, result.output
    assert "sent 3 events" in result.stdout

    delivered = await _drain(target)
    assert [(d["stream_id"], d["stream_version"], d["event_type"]) for d in delivered] == [
        (mine, 1, "ResumeCreated"), (mine, 2, "ResumeUpdated"), (mine, 3, "ResumeDeleted")]
    assert all(d["replay"] is True and d["headers"]["x-replay"] for d in delivered)
    seen_by_observer = await _drain(observer)  # the relay may publish the originals there
    assert not [d for d in seen_by_observer if d["replay"]]


async def test_replay_filters_by_type_and_starting_position(
        cli: Cli, queues: tuple[str, Any, Any]) -> None:
    name, target, _ = queues
    mine, _ = await _two_streams()
    shown = await cli("events", "show", mine, "--json")
    second = json.loads(shown.stdout)[1]["position"]
    result = await cli("replay", "--to", name, "--from-position", str(second),
                       "--stream", mine, "--type", "ResumeDeleted", "--type", "ResumeUpdated")
    assert result.exit_code == 0, result.output
    delivered = await _drain(target)
    assert [d["stream_version"] for d in delivered] == [2, 3]


async def test_dry_run_lists_without_sending(cli: Cli, queues: tuple[str, Any, Any]) -> None:
    name, target, _ = queues
    mine, _ = await _two_streams()
    result = await cli("replay", "--to", name, "--from-position", "1", "--stream", mine,
                       "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"ResumeCreated {mine}@1" in result.stdout
    assert await _drain(target) == []


async def test_replay_to_a_queue_that_does_not_exist_fails_clearly(cli: Cli, unique: str) -> None:
    result = await cli("replay", "--to", f"{unique}.resumes", "--from-position", "1")
    assert result.exit_code == 1 and "no queue named" in result.output


async def test_replay_asks_for_the_source_when_the_name_does_not_tell(
        cli: Cli, unique: str) -> None:
    result = await cli("replay", "--to", f"{unique}.mystery", "--from-position", "1")
    assert result.exit_code == 1 and "--source" in result.output
