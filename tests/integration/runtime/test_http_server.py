"""runtime.http_server through a real uvicorn server on loopback: answers as uvicorn's own
protocol does (without waiting on Nagle's algorithm), and a request head that does not arrive
in time closes its connection, while a slow body or an idle keep-alive connection is left to
their own rules."""

import asyncio
import time

import httpx

from runtime.http_server import HttpProtocol, with_header_timeout
from tests.integration.gateway.conftest import bound_socket, serving, url_of

DEADLINE = 0.5


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"a" * 70_000, b"b" * 10, b""):
            await send({"type": "http.response.body", "body": part, "more_body": bool(part)})
        return
    answer = b"ok %d" % len(body)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(answer)).encode())]})
    await send({"type": "http.response.body", "body": answer})


async def closed_after(reader: asyncio.StreamReader, limit: float) -> tuple[bytes, float]:
    """What the server sent before it closed, and after how many seconds."""
    started = time.monotonic()
    received = await asyncio.wait_for(reader.read(), limit)
    return received, time.monotonic() - started


async def test_heads_bodies_and_streams_are_answered_on_one_kept_alive_connection() -> None:
    sock = bound_socket()
    async with serving(app, sock, HttpProtocol), \
            httpx.AsyncClient(base_url=url_of(sock)) as client:
        for _ in range(3):
            assert (await client.get("/")).content == b"ok 0"
        assert (await client.post("/", content=b"x" * 100_000)).content == b"ok 100000"
        assert (await client.head("/")).content == b""
        assert (await client.get("/stream")).content == b"a" * 70_000 + b"b" * 10


async def test_an_answer_in_two_sends_does_not_wait_for_the_clients_ack() -> None:
    """uvicorn writes a head and its body apart; on asyncio's own loop (not uvloop) the
    second send would wait for the client's delayed ACK (about 40 ms) without TCP_NODELAY."""
    sock = bound_socket()
    async with serving(app, sock, HttpProtocol), \
            httpx.AsyncClient(base_url=url_of(sock)) as client:
        await client.get("/")
        started = time.monotonic()
        for _ in range(20):
            assert (await client.get("/")).content == b"ok 0"
        assert (time.monotonic() - started) / 20 < 0.025


async def test_a_head_that_does_not_arrive_in_time_closes_the_connection() -> None:
    sock = bound_socket()
    port = sock.getsockname()[1]
    async with serving(app, sock, with_header_timeout(DEADLINE)):
        silent_reader, silent = await asyncio.open_connection("127.0.0.1", port)
        slow_reader, slow = await asyncio.open_connection("127.0.0.1", port)
        slow.write(b"GET / HTTP/1.1\r\nhost: t\r\n")
        for _ in range(3):  # a byte now and then does not move the deadline
            await asyncio.sleep(DEADLINE / 4)
            slow.write(b"x")
        for reader in (silent_reader, slow_reader):
            received, seconds = await closed_after(reader, DEADLINE * 4)
            assert received == b"" and seconds < DEADLINE * 2
        for writer in (silent, slow):
            writer.close()


async def test_the_deadline_is_on_the_head_only_and_starts_again_with_each_request() -> None:
    sock = bound_socket()
    port = sock.getsockname()[1]
    async with serving(app, sock, with_header_timeout(DEADLINE)):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 4\r\n\r\nab")
        await asyncio.sleep(DEADLINE * 1.5)  # a slow body is the application's to bound
        writer.write(b"cd")
        assert (await reader.readuntil(b"ok 4")).startswith(b"HTTP/1.1 200")
        await asyncio.sleep(DEADLINE * 1.5)  # idle between requests: uvicorn's keep-alive
        writer.write(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
        assert (await reader.readuntil(b"ok 0")).startswith(b"HTTP/1.1 200")
        writer.write(b"GET / HTTP/1.1\r\n")  # the next head, never finished
        received, seconds = await closed_after(reader, DEADLINE * 4)
        assert received == b"" and seconds < DEADLINE * 2
        writer.close()
