"""The feeds and the streams on the real Redis: an event is added once however often it is
delivered, a stream gets what it missed after its id and then live ones in order, a stream
slower than its feed catches up from the feed, a trimmed feed says so (`reset`)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from contracts.envelope import EventEnvelope
from contracts.resume_events import ResumeUpdated
from live_service.domain import FeedEntry
from live_service.feeds import ERASED_KEY, Feeds, feed_key
from live_service.hub import FeedHub
from live_service.service import HEARTBEAT, LiveStream, StreamRules
from live_service.worker import feed_consumer
from tests.conftest import REDIS_URL


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def hub(redis: Redis) -> AsyncIterator[FeedHub]:
    running = FeedHub(REDIS_URL, queue_max=3)
    task = asyncio.create_task(running.run())
    yield running
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def feeds_of(redis: Redis, max_len: int = 1000) -> Feeds:
    return Feeds(redis, max_len, ttl_seconds=600, dedupe_ttl_seconds=600)


def saved(user_id: str, version: int) -> EventEnvelope:
    return EventEnvelope(event_id=uuid.uuid4(), event_type=ResumeUpdated.event_type,
                         stream_id="resume-1", stream_version=version,
                         occurred_at=datetime.now(UTC), user_id=user_id,
                         payload={"resume_id": "resume-1", "owner_id": user_id,
                                  "document": {"title": "not for the feed"}})


def entry(user_id: str, n: int) -> FeedEntry:
    return FeedEntry(user_id, "resume", {"resume_id": "r", "version": n})


def stream_of(feeds: Feeds, hub: FeedHub, user_id: str, last_id: str | None = None,
              heartbeat: float = 5.0) -> LiveStream:
    return LiveStream(feeds, hub, StreamRules(heartbeat, 1000, 1000), user_id, last_id)


async def test_a_redelivered_event_is_added_to_the_feed_once_and_without_its_document(
        redis: Redis) -> None:
    user_id, feeds = f"u-{uuid.uuid4()}", feeds_of(redis)
    consumer = feed_consumer(feeds)
    event = saved(user_id, 3)
    for _ in range(3):
        await consumer.handler(event)
    rows = await redis.xrange(feed_key(user_id))
    assert len(rows) == 1
    assert rows[0][1][b"event"] == b"resume" and b"not for the feed" not in rows[0][1][b"data"]
    assert 0 < await redis.ttl(feed_key(user_id)) <= 600


async def test_an_erased_user_s_event_is_dropped_by_the_append_itself(redis: Redis) -> None:
    user_id, feeds = f"u-{uuid.uuid4()}", feeds_of(redis)
    consumer = feed_consumer(feeds)
    await consumer.handler(saved(user_id, 1))
    await redis.sadd(ERASED_KEY, user_id)  # type: ignore[misc]
    try:
        await consumer.handler(saved(user_id, 2))  # still queued when the user was erased
        assert await feeds.append(str(uuid.uuid4()), entry(user_id, 3)) is None
        assert len(await redis.xrange(feed_key(user_id))) == 1
    finally:
        await redis.srem(ERASED_KEY, user_id)  # type: ignore[misc]
        await redis.delete(feed_key(user_id))


async def test_a_feed_is_bounded(redis: Redis) -> None:
    user_id, feeds = f"u-{uuid.uuid4()}", feeds_of(redis, max_len=10)
    for n in range(300):
        await feeds.append(str(uuid.uuid4()), entry(user_id, n))
    assert await redis.xlen(feed_key(user_id)) < 300  # MAXLEN ~ trims whole nodes


async def test_a_stream_sends_what_came_after_its_id_then_live_ones_in_order(
        redis: Redis, hub: FeedHub) -> None:
    user_id, feeds = f"u-{uuid.uuid4()}", feeds_of(redis)
    ids = [await feeds.append(str(uuid.uuid4()), entry(user_id, n)) for n in range(5)]
    stream = stream_of(feeds, hub, user_id, last_id=ids[1])
    await stream.open()
    frames = stream.frames()
    first = await anext(frames)
    assert first.startswith(b"retry: 1000\n\n")
    assert [f"id: {i}".encode() in first for i in ids] == [False, False, True, True, True]
    live_id = await feeds.append(str(uuid.uuid4()), entry(user_id, 5))
    assert (await anext(frames)).startswith(f"id: {live_id}\n".encode())
    await frames.aclose()
    assert hub.open_streams == 0


async def test_a_stream_slower_than_its_feed_catches_up_from_the_feed(
        redis: Redis, hub: FeedHub) -> None:
    user_id, feeds = f"u-{uuid.uuid4()}", feeds_of(redis)
    stream = stream_of(feeds, hub, user_id)
    await stream.open()
    frames = stream.frames()
    await anext(frames)  # retry:
    ids = [await feeds.append(str(uuid.uuid4()), entry(user_id, n)) for n in range(8)]
    await asyncio.sleep(0.2)  # all announced: more than the queue of 3 holds
    sent = b""
    while f"id: {ids[-1]}".encode() not in sent:
        sent += await anext(frames)
    positions = [sent.index(f"id: {i}\n".encode()) for i in ids]
    assert positions == sorted(positions) and sent.count(b"id: ") == len(ids)
    await frames.aclose()


async def test_a_stream_whose_missed_entries_were_trimmed_says_reset(
        redis: Redis, hub: FeedHub) -> None:
    user_id, feeds = f"u-{uuid.uuid4()}", feeds_of(redis)
    first = await feeds.append(str(uuid.uuid4()), entry(user_id, 0))
    await feeds.append(str(uuid.uuid4()), entry(user_id, 1))
    await redis.xdel(feed_key(user_id), first)  # as MAXLEN would
    assert first is not None
    stream = stream_of(feeds, hub, user_id, last_id=first)
    await stream.open()
    frames = stream.frames()
    assert b"event: reset\n" in await anext(frames)
    await frames.aclose()


async def test_an_idle_stream_sends_heartbeats_and_another_user_s_entries_never(
        redis: Redis, hub: FeedHub) -> None:
    user_id, feeds = f"u-{uuid.uuid4()}", feeds_of(redis)
    stream = stream_of(feeds, hub, user_id, heartbeat=0.2)
    await stream.open()
    frames = stream.frames()
    await anext(frames)
    await feeds.append(str(uuid.uuid4()), entry(f"other-{uuid.uuid4()}", 1))
    assert await anext(frames) == HEARTBEAT
    await frames.aclose()


async def test_a_stream_gets_what_was_announced_while_the_hub_was_cut_off(
        redis: Redis) -> None:
    name = f"live-hub-{uuid.uuid4().hex[:8]}"
    hub = FeedHub(REDIS_URL, queue_max=100, client_name=name)
    task = asyncio.create_task(hub.run())
    try:
        user_id, feeds = f"u-{uuid.uuid4()}", feeds_of(redis)
        stream = stream_of(feeds, hub, user_id)
        await stream.open()
        frames = stream.frames()
        await anext(frames)
        for client in await redis.client_list():
            if client["name"] == name and int(client["sub"]):
                await redis.client_kill_filter(_id=client["id"])  # the hub's connection
        ids = [await feeds.append(str(uuid.uuid4()), entry(user_id, n)) for n in range(3)]
        sent = b""
        async with asyncio.timeout(10):  # the hub reconnects after a second
            while f"id: {ids[-1]}".encode() not in sent:
                sent += await anext(frames)
        assert all(f"id: {i}\n".encode() in sent for i in ids)
        await frames.aclose()
    finally:
        task.cancel()
        async with asyncio.timeout(5):  # a cancelled hub ends, whatever redis-py swallowed
            await asyncio.gather(task, return_exceptions=True)
