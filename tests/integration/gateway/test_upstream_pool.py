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
    UpstreamBusy,
    UpstreamPool,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.integration.gateway.conftest import bound_socket, serving, url_of

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


async def test_bodies_go_with_their_length() -> None:
    async with uvicorn_service() as url:
        pool = pool_for(url)
        sized = await pool.request("POST", b"/p", [], b"abcdef")
        assert (await sized.read()).split()[:3] == [b"POST", b"/p", b"6"]
        sized.release()
        large = await pool.request("PUT", b"/c", [], b"x" * 200_000)
        assert (await large.read()).split()[2] == b"200000"
        large.release()
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


async def test_only_safe_methods_are_sent_again_after_a_reused_connection_closed() -> None:
    """A POST or DELETE that met a reused connection closed under it may have been acted on
    (a logout, a restore): it fails instead of running twice; a GET goes again."""
    requests: list[bytes] = []

    async def closes_after_one(reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter) -> None:
        requests.append((await reader.readuntil(b"\r\n\r\n")).split(b" ", 1)[0])
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        if await reader.read(1):  # the next request's first byte: closed unanswered
            requests.append(b"cut")
        writer.close()

    async with raw_service(closes_after_one) as url:
        pool = pool_for(url)
        for method, body in (("POST", b"x"), ("DELETE", None)):
            warm = await pool.request("GET", b"/", [], None)
            await warm.read()
            warm.release()
            with pytest.raises(UpstreamUnavailable):
                await pool.request(method, b"/", [], body)
        warm = await pool.request("GET", b"/", [], None)
        await warm.read()
        warm.release()
        again = await pool.request("GET", b"/", [], None)
        assert await again.read() == b"ok"
        again.release()
        assert requests.count(b"POST") == 0 and requests.count(b"DELETE") == 0
        assert requests.count(b"GET") == 4  # the last one twice: cut, then on a new connection
        pool.close()


async def test_bytes_past_a_complete_answer_spoil_the_connection() -> None:
    """A service that sends a second, unasked answer after the first: the first is returned
    as it was (status, headers, body), and the connection is never used again."""
    connections = 0

    async def two_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-which: first\r\n\r\nfirst"
                     b"HTTP/1.1 404 Not Found\r\ncontent-length: 6\r\nx-which: second\r\n\r\n"
                     b"second")
        await writer.drain()
        while await reader.read(1024):
            pass

    async with raw_service(two_answers) as url:
        pool = pool_for(url)
        response = await pool.request("GET", b"/", [], None)
        assert response.status == 200
        assert response.headers == [(b"content-length", b"5"), (b"x-which", b"first")]
        assert await response.read() == b"first"
        response.release()
        assert not pool._idle
        after = await pool.request("GET", b"/", [], None)
        assert (after.status, await after.read()) == (200, b"first")
        after.release()
        assert connections == 2
        pool.close()


async def test_an_unasked_answer_arriving_while_idle_never_reaches_the_next_request() -> None:
    """A second answer the service sends after the connection went back to the pool (a bug,
    or worse) is not taken for the next request's: that one is sent on a new connection and
    gets its own answer. (aiohttp 3.14's pool hands the stale answer to the next request.)"""
    connections = 0

    async def answers_twice_then_fresh(reader: asyncio.StreamReader,
                                       writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        mine = connections
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst")
        await writer.drain()
        if mine == 1:
            await asyncio.sleep(0.2)  # the connection is idle in the pool by now
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstale")
            await writer.drain()
        with contextlib.suppress(ConnectionError):
            while await reader.read(1024):
                pass

    async with raw_service(answers_twice_then_fresh) as url:
        pool = pool_for(url)
        first = await pool.request("GET", b"/", [], None)
        assert await first.read() == b"first"
        first.release()
        await asyncio.sleep(0.5)
        second = await pool.request("GET", b"/", [], None)
        assert await second.read() == b"first"  # its own answer, from a second connection
        second.release()
        assert connections == 2
        pool.close()


async def test_each_answer_keeps_its_own_headers() -> None:
    async with uvicorn_service() as url:
        pool = pool_for(url)
        first = await pool.request("GET", b"/one", [], None)
        await first.read()
        first.release()
        second = await pool.request("GET", b"/two", [], None)
        await second.read()
        second.release()
        assert first.headers is not second.headers
        assert first.headers == second.headers  # the same service, the same header names
        pool.close()


async def test_a_request_waits_for_a_slot_no_longer_than_its_deadline() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(3)

    async with raw_service(silent) as url:
        pool = UpstreamPool(url, max_connections=1, connect_timeout=2, read_timeout=5,
                            slot_timeout=0.3)
        holder = asyncio.create_task(pool.request("GET", b"/", [], None))
        await asyncio.sleep(0.1)
        started = asyncio.get_running_loop().time()
        with pytest.raises(UpstreamBusy):
            await pool.request("GET", b"/", [], None)
        assert asyncio.get_running_loop().time() - started < 1.0
        holder.cancel()
        with contextlib.suppress(asyncio.CancelledError, UpstreamTimeout):
            await holder
        pool.close()
