"""Server-side sessions in Redis, shared by auth_service (creates and deletes them) and the
gateway (resolves the cookie to a user on every request).

The cookie carries a random 256-bit id; Redis keeps only its SHA-256, so a dump of Redis
holds no usable session. Each session has an idle expiry (the key's TTL, slid forward on
every use) and an absolute one (stored in the session, never extended). Resolving is one
Lua script, so the gateway pays one Redis round trip per request; a deleted or expired
session resolves to None at once.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

SESSION_COOKIE = "rb_session"
DEFAULT_IDLE_SECONDS = 24 * 3600
DEFAULT_ABSOLUTE_SECONDS = 7 * 24 * 3600

# KEYS[1] session key; ARGV[1] now (s), ARGV[2] idle seconds -> user id or nil
_RESOLVE = """
local v = redis.call('HMGET', KEYS[1], 'user_id', 'expires_at')
if not v[1] then return false end
local remaining = tonumber(v[2]) - tonumber(ARGV[1])
if remaining <= 0 then
  redis.call('DEL', KEYS[1])
  return false
end
redis.call('EXPIRE', KEYS[1], math.ceil(math.min(tonumber(ARGV[2]), remaining)))
return v[1]
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
        self._resolve = self.redis.register_script(_RESOLVE)

    def _key(self, session_id: str) -> str:
        return session_key(session_id, self.prefix)

    async def create(self, user_id: str) -> str:
        """A new session for `user_id`; returns the id to put in the cookie."""
        session_id = new_session_id()
        now = int(time.time())
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
        return decode_user(await self._resolve(keys=[self._key(session_id)],
                                               args=self._resolve_args()))

    def queue_resolve(self, pipe: Pipeline, session_id: str) -> None:
        """Add the resolve to a (non-transactional) pipeline, so a caller batches it with
        other commands in the same round trip; read the reply with `decode_user`. The
        script must be loaded (`load_scripts`); a NoScriptError reply means Redis lost it."""
        pipe.evalsha(self._resolve.sha, 1, self._key(session_id), *self._resolve_args())

    async def load_scripts(self) -> None:
        await self.redis.script_load(_RESOLVE)

    def _resolve_args(self) -> list[int]:
        return [int(time.time()), self.idle_seconds]


def decode_user(reply: object) -> str | None:
    if isinstance(reply, bytes):
        return reply.decode()
    return reply if isinstance(reply, str) and reply else None
