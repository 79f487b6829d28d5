"""How the gateway treats its upstreams: streaming both ways, hop-by-hop headers, timeouts
and rate limits. A small aiohttp service on loopback plays compile_service; the gateway under
test is a second instance with tight limits, called in-process but forwarding over HTTP."""

import asyncio
import hashlib
import random
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.settings import GatewaySettings
from runtime.identity import DEV_IDENTITY_PUBLIC_KEY, IdentityVerifier
from runtime.sessions import SessionStore
from tests.conftest import REDIS_URL
from tests.integration.gateway.conftest import FRONTEND, Stack

BIG = 3 * 1024 * 1024


async def _slow(_: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.json_response({})


async def _echo(request: web.Request) -> web.Response:
    return web.json_response({"headers": dict(request.headers), "path": request.path_qs})


async def _big(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/pdf",
                                           "Connection": "keep-alive, x-secret",
                                           "Keep-Alive": "timeout=5", "X-Kept": "yes"})
    await response.prepare(request)
    for i in range(BIG // 65536):
        await response.write(bytes([i % 256]) * 65536)
    await response.write_eof()
    return response


async def _upload(request: web.Request) -> web.Response:
    digest, size = hashlib.sha256(), 0
    async for chunk in request.content.iter_any():
        digest.update(chunk)
        size += len(chunk)
    return web.json_response({"sha256": digest.hexdigest(), "size": size})


@pytest.fixture(scope="module")
async def fake_compile() -> AsyncIterator[str]:
    app = web.Application(client_max_size=BIG * 2)
    app.router.add_get("/compile/slow", _slow)
    app.router.add_get("/compile/echo", _echo)
    app.router.add_get("/compile/big", _big)
    app.router.add_post("/compile/upload", _upload)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    await runner.cleanup()


@pytest.fixture(scope="module")
async def tight_gateway(stack: Stack, fake_compile: str) -> AsyncIterator[Any]:
    settings = stack.gateway_settings.model_copy(update={
        "compile_service_url": fake_compile, "upstream_timeout_seconds": 0.5,
        "rate_limit_per_session": 5, "rate_limit_per_ip": 8, "max_body_bytes": BIG * 2})
    assert isinstance(settings, GatewaySettings)
    async with LifespanManager(create_app(settings)) as manager:
        yield manager.app


@pytest.fixture
async def session_cookie() -> AsyncIterator[str]:
    redis = Redis.from_url(REDIS_URL)
    yield await SessionStore(redis).create(f"user-{uuid.uuid4()}")
    await redis.aclose()


def _client(app: Any, cookie: str | None = None) -> httpx.AsyncClient:
    ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    headers = {"Cookie": f"rb_session={cookie}"} if cookie else {}
    return httpx.AsyncClient(transport=transport, base_url="http://gateway", headers=headers,
                             timeout=10)


async def test_slow_upstream_is_504(tight_gateway: Any, session_cookie: str) -> None:
    async with _client(tight_gateway, session_cookie) as client:
        response = await client.get("/api/compile/slow")
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "upstream_timeout"


async def test_hop_by_hop_and_client_identity_headers_are_not_forwarded(
        tight_gateway: Any, session_cookie: str) -> None:
    async with _client(tight_gateway, session_cookie) as client:
        response = await client.get("/api/compile/echo?x=1&y=%2F", headers={
            "Connection": "keep-alive, x-private", "Keep-Alive": "timeout=1",
            "Proxy-Authorization": "Basic abc", "X-Internal-Identity": "v1.forged.1.sig",
            "X-Custom": "kept", "Te": "trailers"})
    sent = {k.lower(): v for k, v in response.json()["headers"].items()}
    assert response.json()["path"] == "/compile/echo?x=1&y=%2F"
    assert sent["x-custom"] == "kept"
    for dropped in ("keep-alive", "proxy-authorization", "te", "cookie"):
        assert dropped not in sent, dropped
    verifier = IdentityVerifier(DEV_IDENTITY_PUBLIC_KEY, "compile")
    identity = verifier.verify(sent["x-internal-identity"].encode(), "GET",
                               b"/compile/echo?x=1&y=%2F")  # for this request exactly
    assert identity is not None and identity.user_id.startswith("user-")
    assert identity.session_id is None  # only auth_service is told the session
    assert sent["x-request-id"] == response.headers["x-request-id"]


async def test_large_bodies_stream_both_ways(tight_gateway: Any, session_cookie: str) -> None:
    async with _client(tight_gateway, session_cookie) as client:
        async with client.stream("GET", "/api/compile/big") as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/pdf"
            assert response.headers["x-kept"] == "yes"
            assert "keep-alive" not in response.headers and "x-secret" not in response.headers
            body = b"".join([chunk async for chunk in response.aiter_raw()])
        assert len(body) == BIG
        payload = bytes(range(256)) * (BIG // 256)

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(payload), 100_000):
                yield payload[i:i + 100_000]

        upload = await client.post("/api/compile/upload", content=chunks(),
                                   headers={"Origin": FRONTEND})
        assert upload.json() == {"sha256": hashlib.sha256(payload).hexdigest(),
                                 "size": len(payload)}


async def test_rate_limit_per_session_answers_429_with_retry_after(
        tight_gateway: Any, session_cookie: str) -> None:
    async with _client(tight_gateway, session_cookie) as client:
        statuses = [(await client.get("/api/compile/echo")).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        limited = await client.get("/api/compile/echo")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.json()["error"]["code"] == "rate_limited"


async def test_rate_limit_per_ip_counts_anonymous_requests(tight_gateway: Any) -> None:
    async with _client(tight_gateway) as client:
        statuses = [(await client.get("/api/resume/all")).status_code for _ in range(9)]
        assert statuses == [401] * 8 + [429]


async def test_health_and_merged_openapi(stack: Stack) -> None:
    async with stack.client() as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        # readiness is on the ops listener (tests/integration/observability/test_ops.py), never here
        assert (await client.get("/readyz")).status_code == 404
        spec = (await client.get("/api/openapi.json")).json()
        assert "/api/resume/{resume_id}" in spec["paths"]
        assert "/api/auth/login" in spec["paths"] and "/api/user/me" in spec["paths"]
        assert spec["x-unavailable-services"] == ["ai", "compile", "live"]
        assert "ErrorResponse" in spec["components"]["schemas"]
        docs = await client.get("/api/docs")
        assert docs.status_code == 200 and "/api/openapi.json" in docs.text
