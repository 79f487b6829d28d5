"""runtime.http_server: the writes of one loop turn leave as one send, over a real socket
pair and through a real uvicorn server."""

import asyncio
import socket

import httpx

from runtime.http_server import _TurnWrites
from tests.integration.gateway.conftest import bound_socket, serving, url_of


class Sent(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport


async def turn_writes_over_a_socket_pair() -> tuple[_TurnWrites, socket.socket, list[int]]:
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(Sent, ours)
    sends: list[int] = []
    real_write = transport.write

    def counting_write(data: bytes) -> None:
        sends.append(len(data))
        real_write(data)

    transport.write = counting_write  # type: ignore[method-assign]
    return _TurnWrites(transport), theirs, sends


async def test_writes_of_one_turn_are_sent_once_and_in_order() -> None:
    writes, peer, sends = await turn_writes_over_a_socket_pair()
    writes.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
    writes.write(b"hello")
    assert sends == []  # held until the end of the turn
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(sends) == 1
    assert peer.recv(1000) == b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"
    writes.write(b"next")
    writes.close()  # what is pending goes out before the close
    await asyncio.sleep(0.01)
    assert peer.recv(1000) == b"next"
    peer.close()


async def test_abort_drops_what_is_pending() -> None:
    writes, peer, sends = await turn_writes_over_a_socket_pair()
    writes.write(b"never")
    writes.abort()
    await asyncio.sleep(0.01)
    assert sends == []
    peer.close()


async def test_a_uvicorn_server_on_it_answers_heads_bodies_and_streams() -> None:
    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        if scope["path"] == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for part in (b"a" * 70_000, b"b" * 10, b""):
                await send({"type": "http.response.body", "body": part,
                            "more_body": bool(part)})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    sock = bound_socket()
    async with serving(app, sock), httpx.AsyncClient(base_url=url_of(sock)) as client:
        for _ in range(3):  # keep-alive: one connection, several requests
            assert (await client.get("/")).content == b"ok"
        assert (await client.head("/")).content == b""
        streamed = await client.get("/stream")
        assert streamed.content == b"a" * 70_000 + b"b" * 10
