"""A small reader of server-sent events for the tests and benches of GET /api/events: the
frames of a streamed httpx response as `ServerSentEvent`s (comments too, so a test can see a
heartbeat)."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class ServerSentEvent:
    id: str | None = None
    event: str | None = None
    data: str = ""
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.data)

    @property
    def is_heartbeat(self) -> bool:
        return self.event is None and not self.data and bool(self.comments)


async def events_of(response: httpx.Response) -> AsyncIterator[ServerSentEvent]:
    current = ServerSentEvent()
    async for line in response.aiter_lines():
        if line == "":
            yield current
            current = ServerSentEvent()
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            current.comments.append(value)
        elif name == "id":
            current.id = value
        elif name == "event":
            current.event = value
        elif name == "data":
            current.data = value if not current.data else current.data + "\n" + value
        elif name == "retry":
            current.retry = int(value)


class EventStream:
    """An open GET /api/events of one client; `next()` skips heartbeats unless asked."""

    def __init__(self, client: httpx.AsyncClient, last_event_id: str | None = None) -> None:
        self.client = client
        self.headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        self._held = contextlib.AsyncExitStack()
        self.response: httpx.Response | None = None
        self._events: AsyncIterator[ServerSentEvent] | None = None

    async def __aenter__(self) -> "EventStream":
        self.response = await self._held.enter_async_context(
            self.client.stream("GET", "/api/events", headers=self.headers))
        if self.response.status_code == 200:
            self._events = events_of(self.response)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._held.aclose()

    async def next(self, timeout: float = 20.0, heartbeats: bool = False) -> ServerSentEvent:
        assert self._events is not None, "the stream did not open"
        async with asyncio.timeout(timeout):
            while True:
                event = await anext(self._events)
                if heartbeats or not (event.is_heartbeat or event.retry is not None):
                    return event

    async def until(self, wanted: Any, timeout: float = 30.0) -> list[ServerSentEvent]:
        """Events (heartbeats left out) up to and with the first for which `wanted` holds."""
        seen: list[ServerSentEvent] = []
        async with asyncio.timeout(timeout):
            while True:
                seen.append(await self.next(timeout))
                if wanted(seen[-1]):
                    return seen
