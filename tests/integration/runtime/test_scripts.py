"""The per-request Lua scripts (the read cache's lookup, the session check) are redis-py's
own script objects (`register_script`, EVALSHA): on the real Redis, a script the server
forgot (a restart, SCRIPT FLUSH) is loaded again, and an error reply leaves the pool usable."""

import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from runtime.cache import ReadCache
from runtime.sessions import SessionStore
from tests.conftest import REDIS_URL


async def test_the_read_cache_and_the_session_check_survive_a_script_flush() -> None:
    redis = Redis.from_url(REDIS_URL)
    cache, user = ReadCache(redis, f"test:{uuid.uuid4()}", ttl_seconds=30), "u1"
    sessions = SessionStore(redis)
    try:
        session_id = await sessions.create("user-s")
        first = await cache.get(user, "k")
        await cache.put(user, first.generation, "k", b"kept")
        await redis.script_flush()  # what a Redis restart does to the script cache
        assert (await cache.get(user, "k")).value == b"kept"
        assert await sessions.resolve(session_id) == "user-s"
        await redis.script_flush()
        assert await sessions.resolve(session_id) == "user-s"
        assert (await cache.get(user, "k")).value == b"kept"
        await sessions.delete(session_id)
    finally:
        await redis.aclose()


async def test_an_error_reply_is_raised_and_the_connection_stays_usable() -> None:
    redis = Redis.from_url(REDIS_URL, max_connections=1)  # every call reuses one connection
    try:
        failing = redis.register_script("return redis.error_reply('no such thing')")
        with pytest.raises(ResponseError, match="no such thing"):
            await failing(keys=[], args=[])
        assert await redis.register_script("return ARGV[1]")(keys=[], args=["still fine"]) == (
            b"still fine")
    finally:
        await redis.aclose()
