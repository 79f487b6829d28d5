"""The Redis session store shared by auth_service and the gateway, on the real Redis."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from runtime.sessions import SessionStore, session_key
from tests.conftest import REDIS_URL


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def test_a_session_resolves_to_its_user_until_deleted(redis: Redis) -> None:
    store = SessionStore(redis)
    user = f"user-{uuid.uuid4()}"
    session_id = await store.create(user)
    assert await store.resolve(session_id) == user
    await store.delete(session_id)
    assert await store.resolve(session_id) is None


async def test_redis_holds_only_a_hash_of_the_session_id(redis: Redis) -> None:
    session_id = await SessionStore(redis).create("someone")
    assert len(session_id) >= 43
    assert not await redis.exists(f"sess:{session_id}")
    assert await redis.exists(session_key(session_id))


async def test_idle_session_expires_and_use_slides_the_idle_expiry(redis: Redis) -> None:
    store = SessionStore(redis, idle_seconds=1, absolute_seconds=60)
    idle, used = await store.create("a"), await store.create("b")
    for _ in range(3):
        await asyncio.sleep(0.45)
        assert await store.resolve(used) == "b"
    assert await store.resolve(idle) is None


async def test_session_expires_at_the_absolute_limit_even_when_used(redis: Redis) -> None:
    store = SessionStore(redis, idle_seconds=60, absolute_seconds=1)
    session_id = await store.create("a")
    assert await store.resolve(session_id) == "a"
    await asyncio.sleep(1.1)
    assert await store.resolve(session_id) is None


async def test_unknown_session_resolves_to_none(redis: Redis) -> None:
    assert await SessionStore(redis).resolve("never-issued") is None
