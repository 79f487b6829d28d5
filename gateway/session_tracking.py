"""Session lookups kept in the gateway's memory, dropped the moment Redis says a session
changed: Redis's server-assisted client-side caching in broadcast mode, through redis-py.

One redis-py pub/sub connection asks Redis to track every key under the session prefix for
it (`CLIENT TRACKING ON REDIRECT <its own id> BCAST PREFIX sess:`) and subscribes to the
invalidation channel (`__redis__:invalidate`, RESP2 pub/sub messages); any write to such a
key (a logout's DEL, an expiry, a slide of the idle expiry, a FLUSHDB) arrives there as a
message naming the key, which the tracking task applies as soon as it reads it.

Lookups are kept only while that connection is subscribed and tracking: when it drops (or
redis-py reconnects it, which would leave it subscribed but untracked), everything kept is
forgotten and every request asks Redis again until a new connection tracks. A PING every few
seconds, answered within a deadline, tells a live connection from a dead one. A lookup that
raced an invalidation (one arrived while the lookup was on its way) is not kept. Entries also
expire by themselves (the session store says for how long, see runtime.sessions), so a
session's idle expiry keeps sliding while it is used.
"""

import asyncio
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_INVALIDATE_CHANNEL = b"__redis__:invalidate"
_PING_EVERY_SECONDS = 5.0
_PING_TIMEOUT_SECONDS = 2.0
_RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0)
_MAX_ENTRIES = 100_000
TRACKING_CLIENT_NAME = "gateway-session-tracking"  # as CLIENT LIST shows it


class TrackedSessions:
    """Session key -> (user id, valid until), trusted only while Redis tracks the prefix."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self._redis_url = redis_url
        self._prefix = prefix
        self._entries: dict[str, tuple[str, float]] = {}
        self.epoch = 0  # bumped by every invalidation and every loss of tracking
        self.active = False
        self.client_id: int | None = None  # of the tracking connection, in Redis

    def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del self._entries[key]
            return None
        return entry[0]

    def keep(self, key: str, user_id: str, reuse_seconds: float, epoch: int) -> None:
        """Keep a lookup that started at `epoch`, unless something changed since."""
        if not self.active or epoch != self.epoch or reuse_seconds <= 0:
            return
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (user_id, time.monotonic() + reuse_seconds)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)
        self.epoch += 1

    def _invalidated(self, keys: list[bytes | str] | None) -> None:
        self.epoch += 1
        if keys is None:  # FLUSHDB / FLUSHALL
            self._entries.clear()
            return
        for key in keys:
            self._entries.pop(key.decode() if isinstance(key, bytes) else key, None)

    def _lost(self) -> None:
        self.active = False
        self.client_id = None
        self.epoch += 1
        self._entries.clear()

    async def run(self) -> None:
        """Keep the tracking connection up (a background task until cancelled)."""
        failures = 0
        while True:
            try:
                await self._track_until_lost()
                failures = 0
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("session tracking connection failed: %r", exc)
            finally:
                self._lost()
            await asyncio.sleep(_RETRY_SECONDS[min(failures, len(_RETRY_SECONDS) - 1)])
            failures += 1

    def _client(self) -> Redis:
        """A client of its own for the one pub/sub connection: it never waits behind the
        request path's pool, and redis-py does not retry on it (a reconnected connection
        would have lost its tracking: a failure must reach `run`). RESP2, where
        invalidations are pub/sub messages (RESP3 would send them as pushes instead)."""
        return Redis.from_url(self._redis_url, max_connections=1, retry=Retry(NoBackoff(), 0),
                              protocol=2, client_name=TRACKING_CLIENT_NAME, socket_timeout=None,
                              socket_connect_timeout=_PING_TIMEOUT_SECONDS,
                              health_check_interval=0)

    async def _track_until_lost(self) -> None:
        client = self._client()
        pubsub = client.pubsub()
        try:
            client_id = await self._subscribe(pubsub)
            assert pubsub.connection is not None
            pubsub.connection.register_connect_callback(self._reconnected)
            self.client_id = client_id
            self.active = True
            self.epoch += 1  # a lookup begun before this may have missed an invalidation
            log.info("session lookups kept in memory, tracked by Redis")
            await self._listen(pubsub)
        finally:
            await pubsub.aclose()
            await client.aclose()

    async def _subscribe(self, pubsub: PubSub) -> int:
        """Track the prefix for this very connection, then subscribe it to the
        invalidations; its client id."""
        client_id = int(await _call(pubsub, "CLIENT", "ID"))
        await _call(pubsub, "CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST",
                    "PREFIX", self._prefix)
        await pubsub.subscribe(_INVALIDATE_CHANNEL)
        async with asyncio.timeout(_PING_TIMEOUT_SECONDS):
            while (message := await pubsub.get_message(timeout=_PING_TIMEOUT_SECONDS)) is None \
                    or message["type"] != "subscribe":
                pass
        return client_id

    async def _listen(self, pubsub: PubSub) -> None:
        """Apply invalidations until the connection is lost: returns never, raises."""
        ping_sent = False
        while self.active:
            message = await pubsub.get_message(
                timeout=_PING_TIMEOUT_SECONDS if ping_sent else _PING_EVERY_SECONDS)
            if message is None:
                if ping_sent:
                    raise TimeoutError("the tracking connection did not answer a PING")
                await pubsub.ping()
                ping_sent = True
            elif message["type"] == "pong":
                ping_sent = False
            elif message["type"] == "message" and message["channel"] == _INVALIDATE_CHANNEL:
                self._invalidated(message["data"])
        raise ConnectionError("the tracking connection was reconnected without tracking")

    def _reconnected(self, _connection: Any) -> None:
        """redis-py connected the pub/sub connection again: subscribed, no longer tracked."""
        self._lost()


async def _call(pubsub: PubSub, *args: Any) -> Any:
    """One command on the pub/sub connection before it subscribes, and its reply."""
    await pubsub.execute_command(*args)
    reply = await pubsub.parse_response(block=False, timeout=_PING_TIMEOUT_SECONDS)
    if reply is None:
        raise TimeoutError(f"Redis did not answer {args[0]} {args[1]}")
    return reply
