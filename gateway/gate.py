"""Who is calling and whether they may: the session cookie resolved to a user and the rate
limits counted, in one Redis round trip (one pipeline of two scripts) per request.

Rate limits are fixed windows shared by every gateway instance: one counter per session and
one per client address; the first request of a window starts its expiry.
"""

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from runtime.sessions import SessionStore, decode_user

# KEYS: counters; ARGV[1] window seconds, ARGV[1+i] limit of KEYS[i]
# -> 0 when within every limit, else the seconds until the exceeded window ends
_COUNT = """
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, window) end
  if n > tonumber(ARGV[i + 1]) and wait == 0 then
    wait = redis.call('TTL', key)
    if wait < 1 then wait = 1 end
  end
end
return wait
"""


@dataclass(frozen=True)
class Verdict:
    user_id: str | None
    retry_after: int  # 0 = within limits


@dataclass
class Limits:
    window_seconds: int
    per_session: int
    per_ip: int


class Gate:
    def __init__(self, redis: Redis, sessions: SessionStore, limits: Limits) -> None:
        self.redis, self.sessions, self.limits = redis, sessions, limits
        self._count = redis.register_script(_COUNT)

    async def load_scripts(self) -> None:
        await self.sessions.load_scripts()
        await self.redis.script_load(_COUNT)

    async def check(self, session_id: str | None, client_ip: str) -> Verdict:
        try:
            return await self._check(session_id, client_ip)
        except NoScriptError:  # Redis restarted and forgot the scripts
            await self.load_scripts()
            return await self._check(session_id, client_ip)

    async def _check(self, session_id: str | None, client_ip: str) -> Verdict:
        keys, limits = [f"rl:ip:{client_ip}"], [self.limits.per_ip]
        async with self.redis.pipeline(transaction=False) as pipe:
            if session_id:
                self.sessions.queue_resolve(pipe, session_id)
                keys.append(f"rl:s:{_digest(session_id)}")
                limits.append(self.limits.per_session)
            pipe.evalsha(self._count.sha, len(keys), *keys, self.limits.window_seconds,
                         *limits)
            replies = await pipe.execute()
        user_id = decode_user(replies[0]) if session_id else None
        return Verdict(user_id, int(replies[-1]))


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()[:32]
