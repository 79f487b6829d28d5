"""gateway.upstream against real servers on loopback: uvicorn for a well-behaved service,
raw asyncio servers for services that misbehave."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from gateway.upstream import (
    UpstreamBroken,
    UpstreamPool,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.gateway.conftest import bound_socket, serving, url_of

BIG = 3 * 1024 * 1024


async def service_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    client_port = scope["client"][1]
    if scope["path"] == "/big":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(BIG).encode())]})
        for _ in range(BIG // 65536):
            await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    answer = b"%s %s %d %d %s" % (scope["method"].encode(), scope["path"].encode(),
                                  len(body), client_port, dict(scope["headers"]).get(
                                      b"transfer-encoding", b"-"))
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-length", str(len(answer)).encode()),
                            (b"x-seen", b"yes")]})
    await send({"type": "http.response.body", "body": answer})


@contextlib.asynccontextmanager
async def uvicorn_service() -> AsyncIterator[str]:
    sock = bound_socket()
    async with serving(service_app, sock):
        yield url_of(sock)


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_service(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


def pool_for(url: str, read_timeout: float = 5.0) -> UpstreamPool:
    return UpstreamPool(url, max_connections=8, connect_timeout=2, read_timeout=read_timeout)


async def body_of(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(0)
        yield chunk


async def test_requests_reuse_one_kept_alive_connection() -> None:
    async with uvicorn_service() as url:
        pool = pool_for(url)
        ports = set()
        for _ in range(5):
            response = await pool.request("GET", b"/a?b=1", [], None)
            assert response.status == 201
            assert (b"x-seen", b"yes") in response.headers
            ports.add((await response.read()).split()[3])
            response.release()
        assert len(ports) == 1
        pool.close()


async def test_bodies_go_with_their_length_or_chunked() -> None:
    async with uvicorn_service() as url:
        pool = pool_for(url)
        sized = await pool.request("POST", b"/p", [(b"content-length", b"6")],
                                   body_of(b"abc", b"def"))
        assert (await sized.read()).split()[:3] == [b"POST", b"/p", b"6"]
        sized.release()
        chunked = await pool.request("PUT", b"/c", [], body_of(b"x" * 70_000, b"y"))
        assert (await chunked.read()).split()[2] == b"70001"
        chunked.release()
        after = await pool.request("GET", b"/g", [], None)  # the connection is still good
        assert after.status == 201
        await after.read()
        after.release()
        pool.close()


async def test_a_large_answer_streams_through_in_full() -> None:
    async with uvicorn_service() as url:
        pool = pool_for(url)
        response = await pool.request("GET", b"/big", [], None)
        assert response.content_length == BIG
        received = 0
        async for chunk in response.chunks():
            received += len(chunk)
            await asyncio.sleep(0)  # a slow reader: reading pauses and resumes
        assert received == BIG
        response.release()
        pool.close()


async def test_head_answers_have_no_body() -> None:
    async with uvicorn_service() as url:
        pool = pool_for(url)
        response = await pool.request("HEAD", b"/h", [], None)
        assert response.status == 201
        assert await response.read() == b""
        response.release()
        pool.close()


async def test_a_closed_port_is_unavailable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(UpstreamUnavailable):
        await pool_for(f"http://127.0.0.1:{port}").request("GET", b"/", [], None)


async def test_a_silent_service_times_out() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(5)

    async with raw_service(silent) as url:
        with pytest.raises(UpstreamTimeout):
            await pool_for(url, read_timeout=0.3).request("GET", b"/", [], None)


async def test_a_malformed_answer_is_broken() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()

    async with raw_service(garbage) as url:
        with pytest.raises(UpstreamBroken):
            await pool_for(url).request("GET", b"/", [], None)


async def test_an_interim_answer_is_skipped() -> None:
    async def interim(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()

    async with raw_service(interim) as url:
        response = await pool_for(url).request("GET", b"/", [], None)
        assert (response.status, await response.read()) == (200, b"ok")


async def test_a_connection_the_service_dropped_while_idle_is_retried_once() -> None:
    """The service keeps nothing alive but says so too late: the reused connection fails
    before any answer, and a request without a body goes again on a new one."""
    served = 0

    async def one_answer_per_connection(reader: asyncio.StreamReader,
                                        writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await reader.readuntil(b"\r\n\r\n")
        served += 1
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await reader.read(1)  # closes as the next request arrives, unanswered
        writer.close()

    async with raw_service(one_answer_per_connection) as url:
        pool = pool_for(url)
        for _ in range(3):
            response = await pool.request("GET", b"/", [], None)
            assert await response.read() == b"ok"
            response.release()
        assert served == 3
        with pytest.raises(UpstreamUnavailable):  # a body cannot be sent twice
            await pool.request("POST", b"/", [(b"content-length", b"1")], body_of(b"x"))


async def test_an_answer_cut_short_raises_instead_of_ending_quietly() -> None:
    async def cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
        await writer.drain()
        writer.close()

    async with raw_service(cut_short) as url:
        response = await pool_for(url).request("GET", b"/", [], None)
        with pytest.raises(UpstreamUnavailable):
            await response.read()


async def test_a_body_that_fails_midway_closes_its_connection() -> None:
    """A reused connection whose body stopped half way (over the limit, say) is closed: the
    service must not wait for the rest, and the connection is never reused."""
    async def failing() -> AsyncIterator[bytes]:
        yield b"x"
        raise ValueError("over the limit")

    async with uvicorn_service() as url:
        pool = pool_for(url)
        warm = await pool.request("GET", b"/", [], None)
        await warm.read()
        warm.release()
        with pytest.raises(ValueError):
            await pool.request("POST", b"/", [(b"content-length", b"10")], failing())
        assert not pool._idle
        again = await pool.request("GET", b"/", [], None)
        assert again.status == 201
        await again.read()
        again.release()
        pool.close()
