"""The whole path a browser takes, on real loopback HTTP: a local OIDC issuer, auth_service
and resume_service as uvicorn servers, and the gateway (uvicorn too) forwarding to them.
Compile and AI services point at a closed port, so they are "down"."""

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn

from auth_service.app import create_app as create_auth
from auth_service.settings import AuthSettings
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from resume_service.app import create_app as create_resume
from resume_service.settings import ResumeSettings
from runtime.http_server import HttpProtocol
from tests.fakes.oidc import FakeIssuer

FRONTEND = "http://frontend.test"


def bound_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


def closed_port_url() -> str:
    sock = bound_socket()
    url = url_of(sock)
    sock.close()
    return url


@contextlib.asynccontextmanager
async def serving(app: Any, sock: socket.socket,
                  protocol: type[HttpProtocol] = HttpProtocol) -> AsyncIterator[None]:
    # as the Procfile runs them: no X-Forwarded-* rewriting by uvicorn
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                           http=protocol, proxy_headers=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@dataclass
class Stack:
    issuer: FakeIssuer
    gateway_url: str
    auth_url: str
    resume_url: str
    gateway_settings: GatewaySettings

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.gateway_url, timeout=15)


@pytest.fixture(scope="session")
async def stack(service_env: dict[str, str]) -> AsyncIterator[Stack]:
    issuer = await FakeIssuer().start()
    socks = {name: bound_socket() for name in ("gateway", "auth", "resume")}
    gateway_url = url_of(socks["gateway"])
    auth = create_auth(AuthSettings(
        **service_env, oidc_server_metadata_url=issuer.metadata_url,
        oidc_client_id=issuer.client_id, oidc_client_secret=issuer.client_secret,
        oidc_redirect_uri=f"{gateway_url}/api/auth/callback", cookie_secure=False,
        dev_login_enabled=True, relay_poll_seconds=0.2))
    resume = create_resume(ResumeSettings(**service_env))
    gateway_settings = GatewaySettings(
        **service_env, auth_service_url=url_of(socks["auth"]),
        resume_service_url=url_of(socks["resume"]), compile_service_url=closed_port_url(),
        ai_service_url=closed_port_url(), live_service_url=closed_port_url(),
        allowed_origins=f"{gateway_url},{FRONTEND}",
        cookie_secure=False,
        rate_limit_per_session=100_000, rate_limit_per_ip=100_000)
    async with contextlib.AsyncExitStack() as running:
        await running.enter_async_context(serving(auth, socks["auth"]))
        await running.enter_async_context(serving(resume, socks["resume"]))
        await running.enter_async_context(serving(create_gateway(gateway_settings),
                                                  socks["gateway"]))
        yield Stack(issuer, gateway_url, url_of(socks["auth"]), url_of(socks["resume"]),
                    gateway_settings)
    await issuer.stop()


async def start_sign_in(client: httpx.AsyncClient, next_path: str | None = None) -> str:
    """GET /api/auth/login; returns the issuer URL the browser is sent to."""
    params = {"next": next_path} if next_path else None
    response = await client.get("/api/auth/login", params=params)
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def authorize(client: httpx.AsyncClient, authorize_url: str) -> str:
    """The browser at the issuer: returns the callback URL it is sent back to."""
    response = await client.get(authorize_url)
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def sign_in(stack: Stack, client: httpx.AsyncClient, sub: str | None = None,
                  **claims: Any) -> None:
    """Sign `client` in through the gateway and the issuer; it then holds only its cookies."""
    sub = sub or f"sub-{uuid.uuid4()}"
    stack.issuer.sign_in_as(sub, email=f"{sub}@example.com", name="Test User", **claims)
    callback = await authorize(client, await start_sign_in(client))
    response = await client.get(callback)
    assert response.status_code == 303, response.text
    assert "rb_session" in client.cookies


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture(autouse=True)
def honest_issuer(stack: Stack) -> None:
    """Each test starts with an issuer that behaves."""
    stack.issuer.sign_in_as(f"sub-{uuid.uuid4()}")
