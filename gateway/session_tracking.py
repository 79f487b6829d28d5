"""Session lookups kept in the gateway's memory, dropped the moment Redis says a session
changed: Redis's server-assisted client-side caching in broadcast mode.

One connection asks Redis to track every key under the session prefix (`CLIENT TRACKING ON
REDIRECT <own id> BCAST PREFIX sess:`) and subscribes to the invalidation channel; any write
to such a key (a logout's DEL, an expiry, a slide of the idle expiry, a FLUSHDB) sends the key's
name here. The connection is an asyncio protocol parsed with hiredis, so an invalidation is
applied in the loop's I/O callback itself, before any request task of the same loop turn runs.

Lookups are kept only while that connection is subscribed: when it drops, everything kept is
forgotten and every request asks Redis again until it is back. A lookup that raced an
invalidation (one arrived while the lookup was on its way) is not kept. Entries also expire by
themselves (the session store says for how long, see runtime.sessions), so a session's idle
expiry keeps sliding while it is used.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

import hiredis
from redis.asyncio import Redis

log = logging.getLogger(__name__)

_INVALIDATE_CHANNEL = b"__redis__:invalidate"
_PING_EVERY_SECONDS = 5.0
_PING_TIMEOUT_SECONDS = 2.0
_RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0)
_MAX_ENTRIES = 100_000
TRACKING_CLIENT_NAME = b"gateway-session-tracking"  # as CLIENT LIST shows it


class TrackedSessions:
    """Session key -> (user id, valid until), trusted only while Redis tracks the prefix."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._connection_kwargs = dict(redis.connection_pool.connection_kwargs)
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

    def _invalidated(self, keys: list[bytes] | None) -> None:
        self.epoch += 1
        if keys is None:  # FLUSHDB / FLUSHALL
            self._entries.clear()
            return
        for key in keys:
            self._entries.pop(key.decode(), None)

    def _lost(self) -> None:
        self.active = False
        self.client_id = None
        self.epoch += 1
        self._entries.clear()

    async def run(self) -> None:
        """Keep the tracking connection up (a background task until cancelled)."""
        if "host" not in self._connection_kwargs or self._connection_kwargs.get("ssl"):
            log.warning("session lookups are not kept: tracking needs a plain TCP Redis")
            return
        failures = 0
        while True:
            try:
                await self._track_until_lost()
                failures = 0
            except (OSError, TimeoutError, hiredis.ReplyError) as exc:
                log.warning("session tracking connection failed: %r", exc)
            finally:
                self._lost()
            await asyncio.sleep(_RETRY_SECONDS[min(failures, len(_RETRY_SECONDS) - 1)])
            failures += 1

    async def _track_until_lost(self) -> None:
        loop = asyncio.get_running_loop()
        kwargs = self._connection_kwargs
        _, protocol = await asyncio.wait_for(loop.create_connection(
            lambda: _TrackingProtocol(self._invalidated, self._lost), kwargs["host"],
            kwargs.get("port", 6379)), _PING_TIMEOUT_SECONDS)
        try:
            await self._subscribe(protocol)
            self.active = True
            self.epoch += 1  # a lookup begun before this may have missed an invalidation
            log.info("session lookups kept in memory, tracked by Redis")
            while not protocol.closed.done():
                await asyncio.wait([protocol.closed], timeout=_PING_EVERY_SECONDS)
                if not protocol.closed.done():
                    await asyncio.wait_for(protocol.call(b"PING"), _PING_TIMEOUT_SECONDS)
        finally:
            protocol.close()

    async def _subscribe(self, protocol: "_TrackingProtocol") -> None:
        kwargs = self._connection_kwargs
        if kwargs.get("password"):
            credentials = [kwargs["username"]] if kwargs.get("username") else []
            await protocol.call(b"AUTH", *credentials, kwargs["password"])
        await protocol.call(b"CLIENT", b"SETNAME", TRACKING_CLIENT_NAME)
        client_id = await protocol.call(b"CLIENT", b"ID")
        self.client_id = client_id
        await protocol.call(b"CLIENT", b"TRACKING", b"ON", b"REDIRECT", client_id, b"BCAST",
                            b"PREFIX", self._prefix)
        await protocol.call(b"SUBSCRIBE", _INVALIDATE_CHANNEL)


class _TrackingProtocol(asyncio.Protocol):
    """RESP over one connection: replies go to the waiting calls in order, invalidation
    messages to `on_invalidate` as soon as they are read."""

    def __init__(self, on_invalidate: Any, on_lost: Any) -> None:
        self._on_invalidate, self._on_lost = on_invalidate, on_lost
        self._reader = hiredis.Reader()
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._transport: asyncio.WriteTransport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            if isinstance(reply, list) and reply[:2] == [b"message", _INVALIDATE_CHANNEL]:
                self._on_invalidate(reply[2])
            elif self._waiting:
                waiter = self._waiting.popleft()
                if waiter.done():
                    continue
                if isinstance(reply, hiredis.ReplyError):
                    waiter.set_exception(reply)
                else:
                    waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost()
        for waiter in self._waiting:
            if not waiter.done():
                waiter.set_exception(ConnectionError("tracking connection lost"))
        if not self.closed.done():
            self.closed.set_result(None)

    def call(self, *args: Any) -> "asyncio.Future[Any]":
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError("tracking connection closed")
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        self._transport.write(_encode(args))
        return waiter

    def close(self) -> None:
        if self._transport is not None:
            with contextlib.suppress(RuntimeError):
                self._transport.close()


def _encode(args: tuple[Any, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        value = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(value), value))
    return b"".join(parts)
