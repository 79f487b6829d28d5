"""The public edge as a stranger meets it: slow and stalled clients, cookie confusion, body
framing, forwarded addresses, long polls and answers that would leak an internal address.

Each test runs a gateway of its own (settings tuned to make the deadline short) in front of
the stack's real auth_service and resume_service, and, where a service must misbehave or
answer slowly, a raw loopback server standing in for compile_service."""

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from gateway.addresses import ClientAddresses, bucket_of, parse_networks
from gateway.app import create_app as create_gateway
from runtime.http_server import with_header_timeout
from tests.integration.gateway.conftest import FRONTEND, Stack, bound_socket, serving, url_of

SAME_SITE = {"Origin": FRONTEND}
STALLERS = 300
QUICK_SECONDS = 1.0
DEADLINE_SECONDS = 2.0


class FakeCompile:
    """A raw HTTP/1.1 server on loopback for compile_service's place: `/compile/status/*`
    holds the request `hold` seconds (a long poll), `/compile/redirect` answers with its own
    internal address, anything else echoes the request head as JSON."""

    def __init__(self, hold: float = 3.0) -> None:
        self.hold = hold
        self.url = ""
        self.heads: list[dict[str, Any]] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> "FakeCompile":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                headers = [tuple(line.split(": ", 1)) for line in lines if line]
                path = request_line.split(" ")[1]
                self.heads.append({"path": path, "headers": headers})
                await self._answer(path, headers, writer)

    async def _answer(self, path: str, headers: list[Any], writer: asyncio.StreamWriter) -> None:
        extra = ""
        if path.startswith("/compile/status/"):
            await asyncio.sleep(self.hold)
        if path.startswith("/compile/redirect"):
            status, body = "307 Temporary Redirect", b"{}"
            extra = f"location: {self.url}/compile/elsewhere\r\n"
        else:
            status, body = "200 OK", orjson.dumps({"path": path, "headers": headers})
        writer.write(f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}"
                     f"content-length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()


@contextlib.asynccontextmanager
async def edge_gateway(stack: Stack, compile_url: str | None = None,
                       **overrides: Any) -> AsyncIterator[str]:
    """A gateway of its own in front of the stack's services; yields its URL."""
    settings = stack.gateway_settings.model_copy(update={
        "client_body_timeout_seconds": DEADLINE_SECONDS, **overrides,
        **({"compile_service_url": compile_url} if compile_url else {})})
    sock = bound_socket()
    async with serving(create_gateway(settings), sock, with_header_timeout(DEADLINE_SECONDS)):
        yield url_of(sock)


async def dev_sign_in(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/auth/dev-login", headers=SAME_SITE,
                                 json={"email": f"edge-{uuid.uuid4().hex[:8]}@example.com"})
    assert response.status_code == 200, response.text
    return str(client.cookies["rb_session"])


async def raw_exchange(url: str, request: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes; everything the gateway answers until it closes (or the timeout)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()
    received = b""
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(65536):
                received += chunk
    writer.close()
    return received


async def timed(call: Any) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await call
    return time.perf_counter() - started, response


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def open_stalled(url: str, head: bytes, count: int) -> list[Connection]:
    """`count` connections that sent `head` and then nothing (kept open by the caller: a
    writer closes its connection once it is garbage)."""
    host, port = url.removeprefix("http://").split(":")
    connections = [await asyncio.open_connection(host, int(port)) for _ in range(count)]
    for _, writer in connections:
        writer.write(head)
    await asyncio.gather(*(writer.drain() for _, writer in connections))
    return connections


async def read_until_closed(connection: Connection, timeout: float) -> bytes | None:
    """All the bytes until the server closes, or None if it keeps the connection open."""
    reader, writer = connection
    received = b""
    try:
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(65536):
                received += chunk
    except TimeoutError:
        return None
    finally:
        writer.close()
    return received


async def assert_others_are_served(url: str) -> None:
    """A signed-in user's reads and a newcomer's sign-in each answer within QUICK_SECONDS."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as user, \
            httpx.AsyncClient(base_url=url, timeout=10) as newcomer:
        await dev_sign_in(user)
        for path in ("/api/user/me", "/api/resume/all"):
            seconds, response = await timed(user.get(path))
            assert response.status_code == 200 and seconds < QUICK_SECONDS, (path, seconds)
        seconds, response = await timed(newcomer.post(
            "/api/auth/dev-login", headers=SAME_SITE, json={"email": "newcomer@example.com"}))
        assert response.status_code == 200 and seconds < QUICK_SECONDS, seconds


async def test_stalled_bodies_hold_no_upstream_connection_and_get_408(stack: Stack) -> None:
    """300 clients announce a 200 kB body and send one byte: more than the auth pool's 256
    connections. They wait in the gateway, not on auth_service's connections, so everybody
    else is served; at the deadline each is answered 408 and dropped."""
    head = (b"POST /api/auth/login HTTP/1.1\r\nhost: gw\r\norigin: " + FRONTEND.encode() +
            b"\r\ncontent-type: application/json\r\ncontent-length: 200000\r\n\r\n{")
    async with edge_gateway(stack) as url:
        stalled = await open_stalled(url, head, STALLERS)
        await asyncio.sleep(0.2)
        await assert_others_are_served(url)
        answers = await asyncio.gather(*(read_until_closed(r, DEADLINE_SECONDS + 5)
                                         for r in stalled))
    assert all(a is not None and a.startswith(b"HTTP/1.1 408") for a in answers), answers[:3]


async def test_stalled_heads_are_closed_at_the_deadline(stack: Stack) -> None:
    async with edge_gateway(stack) as url:
        stalled = await open_stalled(url, b"GET /api/user/me HTTP/1.1\r\nhost: gw\r\nx-a: ",
                                     STALLERS)
        await asyncio.sleep(0.2)
        await assert_others_are_served(url)
        answers = await asyncio.gather(*(read_until_closed(r, DEADLINE_SECONDS + 5)
                                         for r in stalled))
    assert all(a == b"" for a in answers), [a for a in answers if a != b""][:3]


async def test_a_request_waits_for_a_free_connection_only_so_long(stack: Stack) -> None:
    async with FakeCompile(hold=3) as compile_service, \
            edge_gateway(stack, compile_service.url, upstream_pool_size=1,
                         upstream_slot_timeout_seconds=0.3) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as client:
        await dev_sign_in(client)
        holder = asyncio.create_task(client.get("/api/compile/status/a?wait=3"))
        await asyncio.sleep(0.3)
        busy = await client.get("/api/compile/templates")
        assert busy.status_code == 503
        assert busy.json()["error"]["code"] == "service_busy"
        assert busy.headers["retry-after"] == "1"
        assert (await holder).status_code == 200


async def test_long_polls_are_capped_per_session_and_per_address(stack: Stack) -> None:
    async with FakeCompile(hold=2) as compile_service, \
            edge_gateway(stack, compile_service.url, long_polls_per_session=2,
                         long_polls_per_ip=3) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as alice, \
            httpx.AsyncClient(base_url=url, timeout=10) as bob:
        await dev_sign_in(alice)
        await dev_sign_in(bob)
        held = [asyncio.create_task(alice.get(f"/api/compile/status/{n}?wait=2"))
                for n in range(2)]
        await asyncio.sleep(0.3)
        over_session = await alice.get("/api/compile/status/x?wait=2")
        assert over_session.status_code == 429
        assert over_session.json()["error"]["code"] == "too_many_long_polls"
        assert "retry-after" in over_session.headers
        assert (await alice.get("/api/compile/templates")).status_code == 200  # no wait: fine
        held.append(asyncio.create_task(bob.get("/api/compile/status/b?wait=2")))
        await asyncio.sleep(0.3)
        over_address = await bob.get("/api/compile/status/c?wait=2")
        assert over_address.status_code == 429  # bob has one, the address three
        assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200, 200]
        assert (await alice.get("/api/compile/status/y?wait=0.1")).status_code == 200


async def test_two_session_cookies_are_refused_and_the_real_session_survives_no_logout(
        stack: Stack) -> None:
    async with edge_gateway(stack) as url, httpx.AsyncClient(base_url=url, timeout=10) as raw:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            real = await dev_sign_in(client)
        both = {"Cookie": f"rb_session={real}; rb_session=junk", **SAME_SITE}
        for method, path in (("POST", "/api/auth/logout"), ("GET", "/api/user/me")):
            refused = await raw.request(method, path, headers=both)
            assert refused.status_code == 400, path
            assert refused.json()["error"]["code"] == "duplicate_session_cookie"
        one = {"Cookie": f"rb_session={real}", **SAME_SITE}
        assert (await raw.get("/api/user/me", headers=one)).status_code == 200
        assert (await raw.post("/api/auth/logout", headers=one)).status_code == 204
        assert (await raw.get("/api/user/me", headers=one)).status_code == 401


async def test_content_length_is_read_exactly_or_refused(stack: Stack) -> None:
    async with edge_gateway(stack) as url, httpx.AsyncClient(base_url=url, timeout=10) as c:
        session = await dev_sign_in(c)
        body = b'{"title": "Whitespace CV"}'

        def post(length: bytes) -> bytes:
            return (b"POST /api/resume/create HTTP/1.1\r\nhost: gw\r\norigin: " +
                    FRONTEND.encode() + b"\r\ncookie: rb_session=" + session.encode() +
                    b"\r\ncontent-type: application/json\r\ncontent-length: " + length +
                    b"\r\nconnection: close\r\n\r\n" + body)

        padded = await raw_exchange(url, post(b"%d " % len(body)))
        assert padded.startswith(b"HTTP/1.1 201"), padded[:200]
        assert orjson.loads(padded.split(b"\r\n\r\n", 1)[1])["title"] == "Whitespace CV"
        for bad in (b"+%d" % len(body), b"%d, %d" % (len(body), len(body)), b"0x1a", b"2 6"):
            answer = await raw_exchange(url, post(bad))
            assert answer.startswith(b"HTTP/1.1 400"), (bad, answer[:200])
        titles = [r["title"] for r in (await c.get("/api/resume/all")).json()]
        assert titles == ["Whitespace CV"]


async def test_an_answer_naming_an_internal_address_is_not_relayed(stack: Stack) -> None:
    async with FakeCompile() as compile_service, \
            edge_gateway(stack, compile_service.url) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as client:
        await dev_sign_in(client)
        response = await client.get("/api/compile/redirect")
        assert response.status_code == 502
        assert "location" not in response.headers
        assert compile_service.url.removeprefix("http://") not in response.text


async def test_forwarding_headers_from_the_client_are_dropped(stack: Stack) -> None:
    async with FakeCompile() as compile_service, \
            edge_gateway(stack, compile_service.url) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as client:
        await dev_sign_in(client)
        response = await client.get("/api/compile/echo", headers={
            "Forwarded": "for=1.2.3.4", "X-Real-IP": "1.2.3.4", "X-Forwarded-Host": "evil",
            "X-Forwarded-Port": "1", "X-Forwarded-Proto": "https", "X-Forwarded-For": "1.2.3.4"})
        seen = {name.lower(): value for name, value in response.json()["headers"]}
        assert not {"forwarded", "x-real-ip", "x-forwarded-host", "x-forwarded-port"} & set(seen)
        assert seen["x-forwarded-proto"] == "http"
        assert seen["x-forwarded-for"] == "127.0.0.1"


def from_address() -> tuple[str, httpx.AsyncHTTPTransport]:
    """A loopback source address of this test's own, so its rate-limit bucket is fresh."""
    address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    return address, httpx.AsyncHTTPTransport(local_address=address)


def random_public_address() -> str:
    return f"198.18.{random.randint(0, 255)}.{random.randint(1, 254)}"


async def test_a_forged_forwarded_for_from_an_untrusted_peer_buys_no_new_bucket(
        stack: Stack) -> None:
    _, transport = from_address()
    async with edge_gateway(stack, rate_limit_per_ip=3) as url, \
            httpx.AsyncClient(base_url=url, timeout=10, transport=transport) as client:
        statuses = [(await client.get("/api/user/me", headers={
            "X-Forwarded-For": random_public_address()})).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_bucket(
        stack: Stack) -> None:
    _, transport = from_address()
    async with edge_gateway(stack, rate_limit_per_ip=3, trusted_proxies="127.0.0.0/8") as url, \
            httpx.AsyncClient(base_url=url, timeout=10, transport=transport) as client:
        distinct = [(await client.get("/api/user/me", headers={
            "X-Forwarded-For": f"{random_public_address()}, 127.0.0.9"})).status_code
            for _ in range(5)]
        one = {"X-Forwarded-For": random_public_address()}
        same = [(await client.get("/api/user/me", headers=one)).status_code for _ in range(4)]
    assert distinct == [401] * 5
    assert same == [401, 401, 401, 429]


def test_the_client_is_the_rightmost_address_no_trusted_proxy_added() -> None:
    addresses = ClientAddresses(parse_networks("10.0.0.0/8, 192.0.2.1"))
    assert addresses.client_of("10.1.1.1", "6.6.6.6, 198.51.100.7, 10.2.2.2") == \
        "198.51.100.7"
    assert addresses.client_of("192.0.2.1", "198.51.100.7") == "198.51.100.7"
    assert addresses.client_of("203.0.113.5", "198.51.100.7") == "203.0.113.5"  # untrusted
    assert addresses.client_of("10.1.1.1", "not-an-address") == "10.1.1.1"
    assert addresses.client_of("10.1.1.1", None) == "10.1.1.1"
    assert ClientAddresses(()).client_of("10.1.1.1", "198.51.100.7") == "10.1.1.1"
    with pytest.raises(ValueError, match="nonsense"):
        parse_networks("10.0.0.0/8, nonsense")


def test_ipv6_clients_are_counted_by_their_slash_64() -> None:
    assert bucket_of("2001:db8:1:2:aaaa::1") == bucket_of("2001:db8:1:2:ffff::9") == \
        "2001:db8:1:2::/64"
    assert bucket_of("2001:db8:1:3::1") != bucket_of("2001:db8:1:2::1")
    assert bucket_of("198.51.100.7") == "198.51.100.7"
    assert bucket_of("::ffff:198.51.100.7") == "198.51.100.7"
