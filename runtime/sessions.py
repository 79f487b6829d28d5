"""Server-side sessions in Redis, shared by auth_service (creates and deletes them) and the
gateway (resolves the cookie to a user on every request).

The cookie carries a random 256-bit id; Redis keeps only its SHA-256, so a dump of Redis
holds no usable session. Each session has an idle expiry (the key's TTL, slid forward on
every use) and an absolute one (stored in the session, never extended). Resolving is one
Lua script, which also bumps the caller's rate-limit counters, so the gateway pays one Redis
round trip per request; a deleted or expired
session resolves to None at once.
"""

import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from runtime.scripts import HotScript

SESSION_COOKIE = "rb_session"
DEFAULT_IDLE_SECONDS = 24 * 3600
DEFAULT_ABSOLUTE_SECONDS = 7 * 24 * 3600

# KEYS[1] session key ('' for none), KEYS[2..] counters to bump
# ARGV[1] now (s), ARGV[2] idle seconds, ARGV[3] counter window (s), ARGV[3+i] limit of KEYS[1+i]
# -> {user id or '', seconds until the first exceeded counter's window ends (0: none)}
_RESOLVE = """
local user = ''
if KEYS[1] ~= '' then
  local v = redis.call('HMGET', KEYS[1], 'user_id', 'expires_at')
  if v[1] then
    local remaining = tonumber(v[2]) - tonumber(ARGV[1])
    if remaining > 0 then
      redis.call('EXPIRE', KEYS[1], math.ceil(math.min(tonumber(ARGV[2]), remaining)))
      user = v[1]
    else
      redis.call('DEL', KEYS[1])
    end
  end
end
local wait = 0
for i = 2, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('EXPIRE', KEYS[i], ARGV[3]) end
  if wait == 0 and n > tonumber(ARGV[2 + i]) then
    wait = math.max(redis.call('TTL', KEYS[i]), 1)
  end
end
return {user, wait}
"""


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def session_key(session_id: str, prefix: str = "sess") -> str:
    return f"{prefix}:{hashlib.sha256(session_id.encode()).hexdigest()}"


@dataclass
class SessionStore:
    redis: Redis
    idle_seconds: int = DEFAULT_IDLE_SECONDS
    absolute_seconds: int = DEFAULT_ABSOLUTE_SECONDS
    prefix: str = "sess"

    def __post_init__(self) -> None:
        self._resolve = HotScript(self.redis, _RESOLVE)

    def _key(self, session_id: str) -> str:
        return session_key(session_id, self.prefix)

    async def create(self, user_id: str) -> str:
        """A new session for `user_id`; returns the id to put in the cookie."""
        session_id = new_session_id()
        now = round(time.time(), 3)  # not whole seconds: a floor would cut up to 1 s off
        key = self._key(session_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"user_id": user_id, "created_at": now,
                                    "expires_at": now + self.absolute_seconds})
            pipe.expire(key, min(self.idle_seconds, self.absolute_seconds))
            await pipe.execute()
        return session_id

    async def delete(self, session_id: str) -> None:
        await self.redis.delete(self._key(session_id))

    async def resolve(self, session_id: str) -> str | None:
        """The user of a live session (sliding its idle expiry), or None."""
        user_id, _ = await self.resolve_counting(session_id, (), 1)
        return user_id

    async def resolve_counting(self, session_id: str | None, counters: Sequence[tuple[str, int]],
                               window_seconds: int) -> tuple[str | None, int]:
        """Resolve the session (if any) and bump fixed-window counters (key, limit) in the
        same script, so a caller like the gateway pays one round trip for both. Returns the
        user (or None) and 0, or the seconds until the first exceeded window ends."""
        keys = [self._key(session_id) if session_id else "", *(key for key, _ in counters)]
        args = [round(time.time(), 3), self.idle_seconds, window_seconds,
                *(limit for _, limit in counters)]
        user, wait = await self._resolve(keys=keys, args=args)
        return decode_user(user), int(wait)


def decode_user(reply: object) -> str | None:
    if isinstance(reply, bytes):
        return reply.decode() or None
    return reply if isinstance(reply, str) and reply else None
