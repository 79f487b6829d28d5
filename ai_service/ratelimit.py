"""Per-user rate limit in Redis, shared by every instance of the service.

A sliding window: each user has a sorted set of the times of their accepted requests. One
Lua script trims the window, counts and records atomically, using Redis's clock, so several
instances with skewed clocks still share one exact limit. A refused request is not recorded.
"""

import math
import uuid

from redis.asyncio import Redis

_ACQUIRE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window_ms = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window_ms)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window_ms)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + window_ms - now_ms
"""


class RateLimiter:
    def __init__(self, redis: Redis, namespace: str, limit: int, window_seconds: int) -> None:
        self.namespace, self.limit, self.window_ms = namespace, limit, window_seconds * 1000
        self._acquire = redis.register_script(_ACQUIRE)

    async def acquire(self, user_id: str) -> int | None:
        """Take one slot: None when allowed, else the seconds until one frees up."""
        wait_ms = int(await self._acquire(
            keys=[f"{self.namespace}:{user_id}"],
            args=[self.limit, self.window_ms, uuid.uuid4().hex]))
        return None if wait_ms <= 0 else max(1, math.ceil(wait_ms / 1000))
