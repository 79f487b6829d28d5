"""uvicorn's httptools protocol with a deadline on the request head.

A request's head must arrive whole within `HTTP_HEADER_TIMEOUT_SECONDS` (10 s) of its first
byte, or of the connection's opening: otherwise the connection is closed. uvicorn (0.54)
bounds only the idle time after a response (`timeout_keep_alive`, cancelled by the first
byte of the next request; nothing bounds a new connection that sends nothing), and none of
its options bounds the time a head may take, with httptools or h11:
`--h11-max-incomplete-event-size` bounds a head's size, `--limit-concurrency` answers 503
only once a head is complete. Without this a client sending a head a byte at a time
(slowloris) would hold its connection, and the file descriptor, for as long as it liked.
uvicorn's own writes are kept as they are (a response's head and body are two sends: one
write per loop turn measured under 20%, bench/protocol.py at 2331c54), with TCP_NODELAY on
every connection, so the second send never waits.

Run: ``uvicorn app:create_app --factory --http runtime.http_server:HttpProtocol``.
"""

import asyncio
import contextlib
import os
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0


class HttpProtocol(HttpToolsProtocol):
    header_timeout_seconds = float(os.environ.get("HTTP_HEADER_TIMEOUT_SECONDS",
                                                  DEFAULT_HEADER_TIMEOUT_SECONDS))
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _no_delay(transport)
        super().connection_made(transport)
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


def _no_delay(transport: asyncio.Transport) -> None:
    """TCP_NODELAY, as uvloop sets on every TCP connection: asyncio's loop sets it only on a
    socket whose protocol number says TCP, and uvicorn's listening socket (hence every one it
    accepts) says 0. Without it a response written in two sends (uvicorn writes the head and
    the body apart) waits for the client's delayed ACK before its body leaves: about 40 ms."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def with_header_timeout(seconds: float) -> type[HttpProtocol]:
    """The protocol with another head deadline (tests)."""
    return type("HttpProtocolWithHeaderTimeout", (HttpProtocol,),
                {"header_timeout_seconds": seconds})
