"""uvicorn's httptools protocol, with the writes of one loop turn sent as one.

uvicorn writes a response's head and its body with two `transport.write` calls, so a small
JSON answer costs two send() calls and two TCP segments, each waking the client. Here the
writes made during one turn of the event loop are joined and sent at the end of the turn (a
`call_soon`), so head and body leave together; nothing waits longer than that turn. Closing
or aborting the connection sends or drops what is pending first.

Run: ``uvicorn app:create_app --factory --http runtime.http_server:HttpProtocol``.
"""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_TurnWrites(transport))  # type: ignore[arg-type]


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
