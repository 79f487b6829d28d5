"""uvicorn's httptools protocol with a deadline on the request head, and the writes of one
loop turn sent as one.

A request's head must arrive whole within `HTTP_HEADER_TIMEOUT_SECONDS` (10 s) of its first
byte, or of the connection's opening: otherwise the connection is closed. uvicorn (0.54)
bounds only the idle time after a response (`timeout_keep_alive`, cancelled by the first
byte of the next request; nothing bounds a new connection that sends nothing), and none of
its options bounds the time a head may take, with httptools or h11:
`--h11-max-incomplete-event-size` bounds a head's size, `--limit-concurrency` answers 503
only once a head is complete. Without this a client sending a head a byte at a time
(slowloris) would hold its connection, and the file descriptor, for as long as it liked.

uvicorn writes a response's head and body with two `transport.write` calls; here the writes
of one loop turn leave in one send (a `call_soon`), closing or aborting sends or drops what
is pending first. Not for speed (bench/protocol.py write_coalescing measured no gain) but for
an answer sent just before a close on a client that is still sending: the gateway's 413 to a
streamed body over the limit reached the client with one send, and with uvicorn's two the
client read a reset instead (tests/integration/gateway/test_gateway.py,
test_body_over_the_limit_is_413, every run).

Run: ``uvicorn app:create_app --factory --http runtime.http_server:HttpProtocol``.
"""

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0


class HttpProtocol(HttpToolsProtocol):
    header_timeout_seconds = float(os.environ.get("HTTP_HEADER_TIMEOUT_SECONDS",
                                                  DEFAULT_HEADER_TIMEOUT_SECONDS))
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_TurnWrites(transport))  # type: ignore[arg-type]
        self._arm_head_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_head_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_head_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.header_timeout_seconds,
                                                       self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def with_header_timeout(seconds: float) -> type[HttpProtocol]:
    """The protocol with another head deadline (tests)."""
    return type("HttpProtocolWithHeaderTimeout", (HttpProtocol,),
                {"header_timeout_seconds": seconds})


class _TurnWrites:
    """A transport whose writes go out once per loop turn; everything else is the real one."""

    __slots__ = ("_transport", "_pending", "_loop")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._pending: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def _flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        if not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
