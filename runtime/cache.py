"""Per-user read cache in Redis that a write can never leave stale.

Each user has a generation counter. Entries are stored under the generation that was current
when the reader started; invalidation bumps the counter, so an entry written by a reader that
raced with a write lands under a dead generation and is never served (it expires by TTL).

Every call has a deadline (`DEADLINE_SECONDS`): a Redis that accepts and never answers fails
as a redis TimeoutError, which the callers already take as "no cache". (One timer per call:
redis-py's own socket timeout runs each write as a task, a tenth of a cached read's CPU.)
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeout

from runtime.metrics import current_metrics

_READ = """
local gen = redis.call('GET', KEYS[1]) or '0'
return {gen, redis.call('GET', KEYS[1] .. ':' .. gen .. ':' .. ARGV[1])}
"""


DEADLINE_SECONDS = 2.0


@contextlib.asynccontextmanager
async def _deadline() -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            yield
    except TimeoutError as exc:
        raise RedisTimeout(f"the read cache did not answer within {DEADLINE_SECONDS:g} s"
                           ) from exc


@dataclass
class CachedRead:
    generation: str
    value: bytes | None


class ReadCache:
    def __init__(self, redis: Redis, namespace: str, ttl_seconds: int) -> None:
        self.redis, self.namespace, self.ttl = redis, namespace, ttl_seconds
        self._read = redis.register_script(_READ)  # EVALSHA, loaded again on NOSCRIPT

    def _gen_key(self, user_id: str) -> str:
        return f"{self.namespace}:{user_id}"

    async def get(self, user_id: str, key: str) -> CachedRead:
        async with _deadline():
            generation, value = await self._read(keys=[self._gen_key(user_id)], args=[key])
        current_metrics().cache_lookups.labels(
            self.namespace, "miss" if value is None else "hit").inc()
        return CachedRead(generation.decode() if isinstance(generation, bytes) else generation,
                          value)

    async def put(self, user_id: str, generation: str, key: str, value: bytes) -> None:
        async with _deadline():
            await self.redis.set(f"{self._gen_key(user_id)}:{generation}:{key}", value,
                                 ex=self.ttl)

    async def erase(self, user_id: str) -> int:
        """Delete everything cached for the user, their generation too (an account erasure);
        the number of keys deleted."""
        async with _deadline():
            gone: int = await self.redis.delete(self._gen_key(user_id))
        async for key in self.redis.scan_iter(match=f"{self._gen_key(user_id)}:*", count=500):
            gone += await self.redis.delete(key)
        return gone

    async def invalidate(self, user_id: str) -> None:
        async with _deadline():
            await self.redis.incr(self._gen_key(user_id))
