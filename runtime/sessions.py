"""Server-side sessions in Redis, shared by auth_service (creates and deletes them) and the
gateway (resolves the cookie to a user on every request).

The cookie carries a random 256-bit id; Redis keeps only its SHA-256, so a dump of Redis
holds no usable session. Each session has an idle expiry (the key's TTL, slid forward by use)
and an absolute one (stored in the session, never extended). Resolving is one Lua script,
which also takes the caller's rate-limit tokens, so a caller like the gateway pays one round
trip for both; a deleted or expired session resolves to None at once.

A caller that keeps lookups for a while (the gateway, see gateway/gate.py) passes
`slide_every`: the idle expiry is then slid only when that gains more than `slide_every`
seconds, and the answer says how long the lookup may be reused before the next slide is due.
With `slide_every=0` (the default) every lookup slides, as a plain store would.
"""

import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

SESSION_COOKIE = "rb_session"
# over HTTPS the cookie carries the __Host- prefix: browsers then take it only with Secure,
# Path=/ and no Domain, so a sibling subdomain cannot plant one beside it
SECURE_SESSION_COOKIE = "__Host-" + SESSION_COOKIE


def session_cookie_name(secure: bool) -> str:
    return SECURE_SESSION_COOKIE if secure else SESSION_COOKIE

DEFAULT_IDLE_SECONDS = 24 * 3600
DEFAULT_ABSOLUTE_SECONDS = 7 * 24 * 3600

# KEYS[1] session key ('' for none), KEYS[2..] rate-limit counters
# ARGV[1] now (s), ARGV[2] idle (s), ARGV[3] counter window (s), ARGV[4] slide_every (s),
# then per counter: its limit and the tokens to take
# -> {user id or '', ms the lookup may be reused (0: not), then per counter: tokens granted,
#     ms until its window ends}
_RESOLVE = """
local user, reuse_ms = '', 0
if KEYS[1] ~= '' then
  local v = redis.call('HMGET', KEYS[1], 'user_id', 'expires_at')
  if v[1] then
    local remaining_ms = (tonumber(v[2]) - tonumber(ARGV[1])) * 1000
    if remaining_ms > 0 then
      local target_ms = math.ceil(math.min(tonumber(ARGV[2]) * 1000, remaining_ms))
      local slide_ms = tonumber(ARGV[4]) * 1000
      local behind_ms = target_ms - redis.call('PTTL', KEYS[1])
      if behind_ms > slide_ms or slide_ms == 0 then
        redis.call('PEXPIRE', KEYS[1], target_ms)
      else
        reuse_ms = math.floor(math.min(slide_ms - behind_ms, remaining_ms))
      end
      user = v[1]
    else
      redis.call('DEL', KEYS[1])
    end
  end
end
local out = {user, reuse_ms}
for i = 2, #KEYS do
  local limit, take = tonumber(ARGV[3 + 2 * (i - 1)]), tonumber(ARGV[4 + 2 * (i - 1)])
  local n = redis.call('INCRBY', KEYS[i], take)
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then
    ttl = tonumber(ARGV[3]) * 1000
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
  out[#out + 1] = math.max(0, math.min(take, limit - (n - take)))
  out[#out + 1] = ttl
end
return out
"""


@dataclass(frozen=True)
class Lookup:
    user_id: str | None
    reuse_seconds: float  # how long the answer may be reused without asking again (0: not)


@dataclass(frozen=True)
class Grant:
    tokens: int  # 0: the limit is reached for this window
    window_left_seconds: float


@dataclass(frozen=True)
class Counter:
    key: str
    limit: int
    take: int = 1


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
        self._resolve = self.redis.register_script(_RESOLVE)  # EVALSHA, reloaded on NOSCRIPT

    def key_of(self, session_id: str) -> str:
        """The Redis key of a session (a hash of its id, never the id)."""
        return session_key(session_id, self.prefix)

    async def create(self, user_id: str) -> str:
        """A new session for `user_id`; returns the id to put in the cookie."""
        session_id = new_session_id()
        now = round(time.time(), 3)  # not whole seconds: a floor would cut up to 1 s off
        key = self.key_of(session_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"user_id": user_id, "created_at": now,
                                    "expires_at": now + self.absolute_seconds})
            pipe.expire(key, min(self.idle_seconds, self.absolute_seconds))
            await pipe.execute()
        return session_id

    async def delete(self, session_id: str) -> None:
        await self.redis.delete(self.key_of(session_id))

    async def signed_in_at(self, session_id: str) -> float | None:
        """When the session was opened, i.e. its sign-in (epoch seconds); None when it is
        gone. Every sign-in opens a new session, so this is the sign-in's age."""
        created: bytes | str | None = await self.redis.hget(self.key_of(session_id),
                                                            "created_at")
        return float(created) if created is not None else None

    async def delete_all_of(self, user_id: str) -> int:
        """End every session of the user at once (an account erasure). Sessions are keyed by
        a hash of their id, not by user, so this scans them: rare, and no index of sessions
        by user costs every sign-in. The number ended."""
        ended = 0
        async for key in self.redis.scan_iter(match=f"{self.prefix}:*", count=1000):
            if decode_user(await self.redis.hget(key, "user_id")) == user_id:
                ended += await self.redis.delete(key)
        return ended

    async def resolve(self, session_id: str) -> str | None:
        """The user of a live session (sliding its idle expiry), or None."""
        lookup, _ = await self.resolve_counting(session_id, (), 1)
        return lookup.user_id if lookup else None

    async def resolve_counting(self, session_id: str | None, counters: Sequence[Counter],
                               window_seconds: int, slide_every: float = 0
                               ) -> tuple[Lookup | None, list[Grant]]:
        """Resolve the session (None: no lookup asked) and take tokens from fixed-window
        counters in the same script. A counter's window starts with its first token."""
        keys = [self.key_of(session_id) if session_id else "", *(c.key for c in counters)]
        args: list[float | int] = [round(time.time(), 3), self.idle_seconds, window_seconds,
                                   slide_every]
        for counter in counters:
            args += (counter.limit, counter.take)
        reply = await self._resolve(keys=keys, args=args)
        lookup = Lookup(decode_user(reply[0]), int(reply[1]) / 1000) if session_id else None
        grants = [Grant(int(reply[i]), int(reply[i + 1]) / 1000)
                  for i in range(2, len(reply), 2)]
        return lookup, grants


def decode_user(reply: object) -> str | None:
    if isinstance(reply, bytes):
        return reply.decode() or None
    return reply if isinstance(reply, str) and reply else None
