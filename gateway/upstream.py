"""Keep-alive HTTP/1.1 connections from the gateway to one service: the forwarding client.

A small client for the one job of the hot path: send a request whose head the proxy already
built, with its body, and hand back the status, the raw headers and the body as it comes.
Responses are parsed by httptools (llhttp, as uvicorn's server side); connections are reused
last-in first-out and dropped after `IDLE_SECONDS` idle, before the service's own keep-alive
timeout (uvicorn's is 5 s) can close one under a request. Only a GET, HEAD or OPTIONS that
meets a reused connection closed by the service before any answer is sent again, once, on a
new connection: anything else may have been acted on. A connection that receives bytes past
a complete answer (a second, unasked response) is closed, never reused. The gateway reads a
request's whole body before it asks for a connection (gateway.proxy), so a body here is bytes.
It stays for the figure in docs/architecture.md ("Protocol code of our own", bench/protocol.py
upstream): httpx, the kept client that keeps these rules, costs the route 2-4 times the CPU;
aiohttp's pool hands an answer that arrived on an idle connection to the next request (and
resends a PUT or DELETE). Readiness probes and the OpenAPI merge use aiohttp.

Errors: `UpstreamUnavailable` (cannot connect, or the connection closed before an answer),
`UpstreamBusy` (no connection free within the slot deadline), `UpstreamTimeout` (connect or
read took too long), `UpstreamBroken` (a malformed answer).
"""

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httptools

IDLE_SECONDS = 4.0
_PAUSE_ABOVE = 256 * 1024  # bytes buffered from the service before reading pauses
RESENDABLE = frozenset({"GET", "HEAD", "OPTIONS"})


class UpstreamUnavailable(ConnectionError):
    pass


class UpstreamBusy(Exception):
    """Every connection to the service is in use and none came free in time."""


class UpstreamTimeout(TimeoutError):
    pass


class UpstreamBroken(Exception):
    pass


class Response:
    """The service's answer; read it, or iterate its chunks, then `release()` it."""

    def __init__(self, connection: "_Connection", pool: "UpstreamPool") -> None:
        self._connection, self._pool = connection, pool
        self.status: int = connection.status
        self.headers: list[tuple[bytes, bytes]] = connection.headers
        self.content_length: int | None = connection.content_length

    async def read(self) -> bytes:
        parts = [chunk async for chunk in self.chunks()]
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def chunks(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while True:
            chunk = await connection.next_chunk(self._pool.read_timeout)
            if chunk is None:
                return
            yield chunk

    def release(self) -> None:
        self._pool.put_back(self._connection)


class UpstreamPool:
    def __init__(self, base_url: str, max_connections: int, connect_timeout: float,
                 read_timeout: float, slot_timeout: float = 5.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.host_header = parts.netloc.encode()
        self.base_path = parts.path.rstrip("/").encode()
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.slot_timeout = slot_timeout
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(max_connections)

    async def request(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
                      body: bytes | None) -> Response:
        """Send the request; returns once the response head is in. `target` is the path
        (still percent-encoded) and query; `headers` are sent as given, with the body's
        Content-Length added."""
        head = self._head(method, target, headers, body)
        await self._take_slot()
        try:
            connection = await self._send(method, head, body)
        except BaseException:
            self._slots.release()
            raise
        return Response(connection, self)

    async def _take_slot(self) -> None:
        if not self._slots.locked():  # a slot is free: taken at once, no deadline to arm
            await self._slots.acquire()
            return
        try:
            async with asyncio.timeout(self.slot_timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise UpstreamBusy(f"no connection to {self.host}:{self.port} came free") from exc

    def put_back(self, connection: "_Connection") -> None:
        if connection.reusable():
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        self._slots.release()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    async def _send(self, method: str, head: bytes, body: bytes | None) -> "_Connection":
        connection = self._reused()
        if connection is not None:
            try:
                await connection.exchange(method, head, body, self.read_timeout)
                return connection
            except UpstreamUnavailable:
                connection.close()
                if method not in RESENDABLE or connection.answered:
                    raise  # the service may have acted on it: never twice
            except BaseException:  # a timeout, cancelled: never reused
                connection.close()
                raise
        connection = await self._connect()
        try:
            await connection.exchange(method, head, body, self.read_timeout)
        except BaseException:
            connection.close()
            raise
        return connection

    def _reused(self) -> "_Connection | None":
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.open and now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    async def _connect(self) -> "_Connection":
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await loop.create_connection(_Connection, self.host, self.port)
        except TimeoutError as exc:
            raise UpstreamTimeout(f"connecting to {self.host}:{self.port} timed out") from exc
        except OSError as exc:
            raise UpstreamUnavailable(f"cannot connect to {self.host}:{self.port}: {exc}"
                                      ) from exc
        return connection

    def _head(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
              body: bytes | None) -> bytes:
        lines = [b"%s %s%s HTTP/1.1\r\nhost: %s\r\n" % (
            method.encode(), self.base_path, target, self.host_header)]
        lines += [b"%s: %s\r\n" % (name, value) for name, value in headers]
        if body is not None:
            lines.append(b"content-length: %d\r\n" % len(body))
        lines.append(b"\r\n")
        return b"".join(lines)


class _Connection(asyncio.Protocol):
    """One connection, one exchange at a time, parsed by httptools as bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.open, self.answered = False, False
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.content_length: int | None = None
        # this exchange's own list: an answer keeps it, and nothing is added once it is
        # complete (an unasked second answer is not parsed)
        self.headers: list[tuple[bytes, bytes]] = []
        self._head_done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._chunks: deque[bytes | None] = deque()
        self._buffered, self._paused, self._complete = 0, False, False
        self._waiter: asyncio.Future[None] | None = None
        self._error: Exception | None = None
        self._skip_body, self._request_sent, self._keep_alive = False, False, False
        self._unasked = False  # bytes of a second answer arrived: nothing more is parsed

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not subclasses
        self.open = True

    def data_received(self, data: bytes) -> None:
        self.answered = True
        if self._unasked:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamBroken(f"malformed answer from the service: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if self._head_done.done() and not self._complete and self.content_length is None \
                and not self._chunked():
            self.on_message_complete()  # a body delimited by the end of the connection
            return
        self._fail(UpstreamUnavailable("the service closed the connection"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self._head_done.done() or not self._request_sent:
            self._unasked = True  # an answer nobody asked for: this connection is spoilt
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._unasked:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._unasked:
            return
        self.status = self.parser.get_status_code()
        self._keep_alive = self.parser.should_keep_alive()  # llhttp forgets it once done
        if 100 <= self.status < 200:  # an interim answer: the real one follows
            self.headers = []
            return
        for name, value in self.headers:
            if name.lower() == b"content-length" and value.isdigit():
                self.content_length = int(value)
        if not self._head_done.done():
            self._head_done.set_result(None)
        if self._skip_body:  # HEAD: no body follows, whatever the headers say
            self.on_message_complete()

    def on_body(self, body: bytes) -> None:
        if self._unasked:
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _PAUSE_ABOVE and not self._paused and self.transport:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._complete or self._unasked or not self._head_done.done():
            return  # done already, spoilt, or the end of an interim answer
        self._complete = True
        self._chunks.append(None)
        self._wake()

    # used by the pool
    async def exchange(self, method: str, head: bytes, body: bytes | None,
                       read_timeout: float) -> None:
        assert self.transport is not None
        self._reset()
        self.answered = False
        self._skip_body = method == "HEAD"
        self._request_sent = True  # before the write: an answer may come within it
        self.transport.write(head if body is None else head + body)
        await self._within(self._head_done, read_timeout, "to answer")

    async def next_chunk(self, read_timeout: float) -> bytes | None:
        while not self._chunks:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._within(self._waiter, read_timeout, "to send its body")
        chunk = self._chunks.popleft()
        if chunk is None and self._error is not None:
            raise self._error
        if chunk is not None:
            self._buffered -= len(chunk)
            if self._paused and self._buffered <= _PAUSE_ABOVE // 2 and self.transport:
                self._paused = False
                self.transport.resume_reading()
        return chunk

    def reusable(self) -> bool:
        return (self.open and self._complete and self._error is None and not self._unasked
                and not self._skip_body and self._keep_alive)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.open = False

    async def _within(self, waiter: "asyncio.Future[None]", seconds: float, what: str) -> None:
        try:
            async with asyncio.timeout(seconds):
                await waiter
        except TimeoutError as exc:
            self.close()  # a late answer must not meet the next request
            raise UpstreamTimeout(f"the service took too long {what}") from exc

    def _chunked(self) -> bool:
        return any(name.lower() == b"transfer-encoding" and b"chunked" in value.lower()
                   for name, value in self.headers)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, exc: Exception) -> None:
        if not self._head_done.done():
            self._head_done.set_exception(exc)
            self._head_done.exception()  # nobody may be waiting (an idle connection): no warning
        elif not self._complete:
            self._error = exc
            self._complete = True
            self._chunks.append(None)
            self._wake()
