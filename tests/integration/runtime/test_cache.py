import uuid

from redis.asyncio import Redis

from runtime.cache import ReadCache
from tests.conftest import REDIS_URL


async def test_entry_written_by_a_reader_that_raced_a_write_is_never_served() -> None:
    redis = Redis.from_url(REDIS_URL)
    cache, user = ReadCache(redis, f"test:{uuid.uuid4()}", ttl_seconds=30), "u1"
    try:
        before_write = await cache.get(user, "k")  # a reader starts, misses
        await cache.invalidate(user)  # a write commits and invalidates
        await cache.put(user, before_write.generation, "k", b"stale")  # the reader stores
        assert (await cache.get(user, "k")).value is None
        fresh = await cache.get(user, "k")
        await cache.put(user, fresh.generation, "k", b"fresh")
        assert (await cache.get(user, "k")).value == b"fresh"
    finally:
        await redis.aclose()
