"""The per-user rate limit on the real Redis: shared by every instance, exact at the limit."""

import asyncio
import uuid

from redis.asyncio import Redis

from ai_service.ratelimit import RateLimiter
from tests.conftest import REDIS_URL


async def test_two_instances_share_one_limit_per_user() -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        namespace = f"rl:test:{uuid.uuid4().hex}"
        first, second = (RateLimiter(redis, namespace, 3, 60) for _ in range(2))
        user = "user-a"
        taken = [await first.acquire(user), await second.acquire(user), await first.acquire(user)]
        assert taken == [None, None, None]
        retry_after = await second.acquire(user)
        assert retry_after is not None and 1 <= retry_after <= 60
        assert await first.acquire("user-b") is None  # per user
    finally:
        await redis.aclose()


async def test_a_slot_frees_up_when_the_window_passes() -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        limiter = RateLimiter(redis, f"rl:test:{uuid.uuid4().hex}", 1, 1)
        assert await limiter.acquire("u") is None
        assert await limiter.acquire("u") == 1
        await asyncio.sleep(1.05)
        assert await limiter.acquire("u") is None
    finally:
        await redis.aclose()
