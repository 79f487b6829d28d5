"""The gateway's gate on the real Redis: session lookups kept in memory only while Redis
tracks them, and rate-limit tokens leased, never more than the limit across instances."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import hiredis
import pytest
from redis.asyncio import Redis

from gateway import session_tracking
from gateway.gate import Gate, Limits
from gateway.session_tracking import TrackedSessions
from runtime.sessions import Counter, SessionStore
from tests.conftest import REDIS_URL

PLENTY = Limits(window_seconds=60, per_session=1_000_000, per_ip=1_000_000)


class CountingStore(SessionStore):
    """The real store, counting the round trips it makes."""

    calls = 0

    async def resolve_counting(self, session_id: str | None, counters: Sequence[Counter],
                               window_seconds: int, slide_every: float = 0) -> Any:
        self.calls += 1
        return await super().resolve_counting(session_id, counters, window_seconds,
                                              slide_every)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@contextlib.asynccontextmanager
async def tracking(_: Redis) -> AsyncIterator[TrackedSessions]:
    """A tracking task of its own, on the same Redis as `redis` (REDIS_URL)."""
    tracked = TrackedSessions(REDIS_URL, "sess:")
    task = asyncio.create_task(tracked.run())
    await until(lambda: tracked.active)
    try:
        yield tracked
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(condition: Any, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def an_ip() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


async def test_a_kept_lookup_answers_without_redis_until_the_session_is_deleted(
        redis: Redis) -> None:
    store = CountingStore(redis)
    async with tracking(redis) as tracked:
        gate = Gate(store, PLENTY, tracked)
        session_id = await store.create("user-a")
        ip = an_ip()
        for _ in range(20):
            assert (await gate.check(session_id, ip)).user_id == "user-a"
        assert store.calls <= 2  # the first lookup (and a lease), then memory
        await store.delete(session_id)  # what a logout on any instance does
        await until(lambda: tracked.get(store.key_of(session_id)) is None, seconds=1)
        assert (await gate.check(session_id, ip)).user_id is None


async def test_a_lost_tracking_connection_forgets_everything_until_it_is_back(
        redis: Redis) -> None:
    store = CountingStore(redis)
    async with tracking(redis) as tracked:
        gate = Gate(store, PLENTY, tracked)
        session_id = await store.create("user-b")
        ip = an_ip()
        await gate.check(session_id, ip)
        await gate.check(session_id, ip)
        assert tracked.get(store.key_of(session_id)) == "user-b"
        old_client = tracked.client_id
        await redis.client_kill_filter(_id=old_client)
        await until(lambda: not tracked.active)
        assert tracked.get(store.key_of(session_id)) is None
        calls = store.calls
        await gate.check(session_id, ip)
        await gate.check(session_id, ip)
        assert store.calls == calls + 2  # nothing kept while not tracked
        await until(lambda: tracked.active and tracked.client_id != old_client)
        await store.delete(session_id)
        await until(lambda: tracked.get(store.key_of(session_id)) is None, seconds=1)
        assert (await gate.check(session_id, ip)).user_id is None


async def test_a_tracking_connection_that_stops_answering_is_given_up(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A Redis stand-in that sets tracking up, then never answers a PING (a half-open
    connection, a hung server): nothing is trusted from the deadline on, and tracking starts
    over on a new connection."""
    monkeypatch.setattr(session_tracking, "_PING_EVERY_SECONDS", 0.2)
    monkeypatch.setattr(session_tracking, "_PING_TIMEOUT_SECONDS", 0.3)
    connections = 0

    async def tracks_then_hangs(reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        commands = hiredis.Reader()
        while data := await reader.read(4096):
            commands.feed(data)
            while (command := commands.gets()) is not False:
                name = b" ".join(command[:2]).upper()
                if name == b"CLIENT ID":
                    writer.write(b":%d\r\n" % (100 + connections))
                elif name.startswith(b"SUBSCRIBE"):
                    writer.write(b"*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n")
                elif not name.startswith(b"PING"):  # a PING is never answered
                    writer.write(b"+OK\r\n")
        writer.close()

    server = await asyncio.start_server(tracks_then_hangs, "127.0.0.1", 0)
    tracked = TrackedSessions(f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0",
                              "sess:")
    task = asyncio.create_task(tracked.run())
    try:
        await until(lambda: tracked.active)
        assert tracked.client_id == 101
        tracked.keep("sess:k", "user-h", 60, tracked.epoch)
        assert tracked.get("sess:k") == "user-h"
        await until(lambda: not tracked.active, seconds=2)
        assert tracked.get("sess:k") is None
        await until(lambda: tracked.active and tracked.client_id == 102, seconds=3)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        server.close()


async def test_a_session_in_use_keeps_sliding_and_an_idle_one_expires(redis: Redis) -> None:
    store = SessionStore(redis, idle_seconds=2, absolute_seconds=60)
    async with tracking(redis) as tracked:
        gate = Gate(store, PLENTY, tracked)
        session_id = await store.create("user-c")
        ip = an_ip()
        for _ in range(16):  # 4 s of use, twice the idle expiry
            assert (await gate.check(session_id, ip)).user_id == "user-c"
            await asyncio.sleep(0.25)
        await asyncio.sleep(2.5)
        assert (await gate.check(session_id, ip)).user_id is None


async def test_leased_tokens_never_exceed_the_limit_across_instances(redis: Redis) -> None:
    limits = Limits(window_seconds=30, per_session=1_000_000, per_ip=100)  # leases of 5
    stores = [CountingStore(redis), CountingStore(redis)]
    gates = [Gate(store, limits) for store in stores]
    ip, admitted, refused = an_ip(), 0, []
    for i in range(160):
        verdict = await gates[i % 2].check(None, ip)
        if verdict.retry_after:
            refused.append(verdict.retry_after)
        else:
            admitted += 1
    assert 90 <= admitted <= 100
    assert refused and all(1 <= wait <= 30 for wait in refused)
    assert sum(store.calls for store in stores) <= 100 // 5 + 4  # leases, not one per request


async def test_a_small_limit_is_counted_request_by_request(redis: Redis) -> None:
    limits = Limits(window_seconds=30, per_session=1_000_000, per_ip=5)
    gates = [Gate(SessionStore(redis), limits) for _ in range(2)]
    ip = an_ip()
    verdicts = [await gates[i % 2].check(None, ip) for i in range(8)]
    assert [v.retry_after == 0 for v in verdicts] == [True] * 5 + [False] * 3


async def test_a_redis_that_never_answers_fails_the_check_at_the_deadline(
        redis: Redis) -> None:
    """A hung Redis (it accepts the connection, then says nothing) must not hold requests:
    the gate's round trip gives up at its deadline, and the proxy answers 503."""
    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the gate gives up and closes
        writer.close()

    silent = await asyncio.start_server(say_nothing, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    hung = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=None)
    try:
        gate = Gate(SessionStore(hung), PLENTY, redis_deadline_seconds=0.3)
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimeoutError):
            await gate.check(None, an_ip())
        assert asyncio.get_running_loop().time() - started < 1.5
    finally:
        await hung.aclose()
        silent.close()
        await silent.wait_closed()


async def test_a_burst_meeting_an_empty_lease_renews_it_once(redis: Redis) -> None:
    """300 requests from one address at once, none with tokens in hand: one of them leases
    from Redis and the others take from what it brought, so the burst spends 300 tokens of
    the window, not 300 leases of 64."""
    store = CountingStore(redis, 600, 3600)
    limits = Limits(window_seconds=60, per_session=1_000_000, per_ip=100_000)
    gate = Gate(store, limits)
    address = f"burst-{uuid.uuid4().hex[:8]}"
    verdicts = await asyncio.gather(*(gate.check(None, address) for _ in range(300)))
    assert all(v.retry_after == 0 for v in verdicts)
    assert store.calls == 300 // 64 + 1  # one renewal per lease spent, not one per request
    spent = int(await redis.get(f"rl:ip:{address}"))
    assert spent <= 5 * 64
