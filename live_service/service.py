"""One open event stream: what the user missed after the client's `Last-Event-ID` (from the
feed, bounded), then what happens, as SSE frames, with a heartbeat comment whenever nothing
was sent for `heartbeat_seconds`.

The order is kept across the two sources: the channel is subscribed (and confirmed) before
the feed is read, and a message is sent only when its id is past the last one sent, so an
entry both read from the feed and announced is sent once, and none falls between them.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from live_service.feeds import Feeds, Message, entry_position
from live_service.hub import FeedHub, Listener

HEARTBEAT = b": heartbeat\n\n"
# sent first when the feed no longer holds everything after the client's id: refetch state
RESET_EVENT = "reset"


def frame(message: Message) -> bytes:
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (message.id.encode(), message.event.encode(),
                                                 message.data)


@dataclass(frozen=True)
class StreamRules:
    heartbeat_seconds: float
    retry_ms: int
    backlog_max: int  # messages read from the feed at once (a reconnect, a catch-up)


class LiveStream:
    def __init__(self, feeds: Feeds, hub: FeedHub, rules: StreamRules, user_id: str,
                 last_id: str | None) -> None:
        self.feeds, self.hub, self.rules = feeds, hub, rules
        self.user_id, self.last_id = user_id, last_id  # set once open
        self._held = contextlib.AsyncExitStack()
        self._listener: Listener | None = None
        self._first: list[bytes] = [b"retry: %d\n\n" % rules.retry_ms]

    async def open(self) -> None:
        """Subscribe and read what the client missed: raises (RedisError, TimeoutError)
        before anything was sent, so the route can still answer 503."""
        self._listener = await self._held.enter_async_context(self.hub.listening(self.user_id))
        try:
            if self.last_id is None:  # from now on: a catch-up starts at the newest entry
                self.last_id = await self.feeds.newest_id(self.user_id)
            elif await self.feeds.lost_since(self.user_id, self.last_id):
                self._first.append(b"event: %s\ndata: {}\n\n" % RESET_EVENT.encode())
            self._first += await self._missed()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        await self._held.aclose()

    async def frames(self) -> AsyncIterator[bytes]:
        assert self._listener is not None, "open() the stream first"
        try:
            yield b"".join(self._first)
            while True:
                yield await self._next(self._listener)
        finally:
            await self.close()

    async def _next(self, listener: Listener) -> bytes:
        while True:
            try:
                async with asyncio.timeout(self.rules.heartbeat_seconds):
                    message = await listener.queue.get()
            except TimeoutError:
                return HEARTBEAT
            if message is None:  # CATCH_UP
                caught_up = await self._missed()
                if caught_up:
                    return b"".join(caught_up)
            elif self._is_new(message):
                self.last_id = message.id
                return frame(message)

    async def _missed(self) -> list[bytes]:
        assert self.last_id is not None
        messages = await self.feeds.after(self.user_id, self.last_id, self.rules.backlog_max)
        if messages:
            self.last_id = messages[-1].id
        return [frame(message) for message in messages]

    def _is_new(self, message: Message) -> bool:
        assert self.last_id is not None
        return message.position > entry_position(self.last_id)
