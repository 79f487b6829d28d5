"""One pub/sub connection per process for every open stream (not one Redis connection per
stream, which 1,000 idle streams would turn into 1,000 connections).

A stream `listening(user_id)` has its user's channel subscribed (once for all of that user's
streams in this process, confirmed before it returns, so nothing announced from then on is
missed) and receives the channel's messages in a bounded queue. What a queue cannot take
(a stream slower than its feed), and whatever was announced while the connection was lost,
is not dropped silently: the listener is told to catch up (`CATCH_UP`), and reads what it
missed from the feed itself, after the last id it sent.

The connection is a Redis client of the hub's own, made anew after a loss, with no retries
inside redis-py: a lost connection ends in `run`, which reconnects, subscribes every channel
again and has every stream catch up. Reads are bounded (a second), and a cancellation is
looked for after each, since redis-py may answer a cancelled timed read as a timeout.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from live_service.feeds import FEED_PREFIX, Message, feed_key, published

log = logging.getLogger(__name__)

CATCH_UP = None  # in a listener's queue: read the feed from the last id sent
# keeps the connection subscribed while no stream is open (redis-py listens only then)
_HUB_CHANNEL = FEED_PREFIX.encode() + b"hub"
SUBSCRIBE_TIMEOUT_SECONDS = 2.0
RECONNECT_SECONDS = 1.0
READ_SECONDS = 1.0
CLOSE_SECONDS = 1.0


def _raise_if_cancelled() -> None:
    """redis-py's timed read can turn a cancellation that meets its deadline into a plain
    timeout (it answers None): the task stays cancelling, and would read on for ever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _closed(pubsub: PubSub, client: Redis) -> None:
    with contextlib.suppress(RedisError, OSError, TimeoutError):
        async with asyncio.timeout(CLOSE_SECONDS):
            await pubsub.aclose()
            await client.aclose()


class Listener:
    def __init__(self, queue_max: int) -> None:
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue(queue_max)

    def offer(self, message: Message | None) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:  # the feed has them all: read them from there
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(CATCH_UP)


class FeedHub:
    def __init__(self, redis_url: str, queue_max: int, client_name: str | None = None) -> None:
        self.redis_url, self.queue_max, self.client_name = redis_url, queue_max, client_name
        self._pubsub: PubSub | None = None
        self._listeners: dict[bytes, set[Listener]] = {}
        self._confirmed: dict[bytes, asyncio.Event] = {}
        self._up = asyncio.Event()  # subscribed and listening

    @property
    def open_streams(self) -> int:
        return sum(len(listeners) for listeners in self._listeners.values())

    async def run(self) -> None:
        """Until cancelled: dispatch what Redis announces; reconnect when it is lost."""
        while True:
            # a client of its own each time, so no connection of a lost one is reused, and
            # no retries inside redis-py: a loss ends up here, where it is caught up
            client = Redis.from_url(self.redis_url, client_name=self.client_name,
                                    retry=Retry(NoBackoff(), 0))
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(_HUB_CHANNEL, *self._listeners)
                self._pubsub = pubsub
                self._up.set()
                self._everyone(CATCH_UP)  # announced while away, or before a reconnect
                while True:
                    message = await pubsub.get_message(timeout=READ_SECONDS)
                    _raise_if_cancelled()
                    if message is not None:
                        self._dispatch(message)
            except (RedisError, OSError) as exc:
                log.warning("live feed subscription lost (%r); again in %.0f s", exc,
                            RECONNECT_SECONDS)
            finally:
                self._pubsub = None
                self._up.clear()
                await _closed(pubsub, client)
            await asyncio.sleep(RECONNECT_SECONDS)

    @contextlib.asynccontextmanager
    async def listening(self, user_id: str) -> AsyncIterator[Listener]:
        """A listener of the user's channel for the span of the block; raises RedisError or
        TimeoutError when the subscription cannot be confirmed."""
        channel = feed_key(user_id).encode()
        listener = Listener(self.queue_max)
        listeners = self._listeners.setdefault(channel, set())
        listeners.add(listener)
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                if len(listeners) == 1:
                    self._confirmed[channel] = asyncio.Event()
                    await self._subscribe(channel)
                await self._confirmed[channel].wait()
            yield listener
        finally:
            listeners.discard(listener)
            if not listeners:
                await self._unsubscribe(channel)

    async def _subscribe(self, channel: bytes) -> None:
        await self._up.wait()  # one connection: never one made beside the listening one
        assert self._pubsub is not None
        await self._pubsub.subscribe(channel)

    async def _unsubscribe(self, channel: bytes) -> None:
        del self._listeners[channel]
        self._confirmed.pop(channel, None)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(channel)

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        if message["type"] == "subscribe" and channel in self._confirmed:
            self._confirmed[channel].set()
        elif message["type"] == "message":
            announced = published(message["data"])
            for listener in self._listeners.get(channel, ()):
                listener.offer(announced)

    def _everyone(self, message: Message | None) -> None:
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.offer(message)
