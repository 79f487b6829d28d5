"""The stack the observability tests watch: a local OIDC issuer, auth_service,
resume_service, compile_service (with its worker, real pdflatex) and the gateway, each a
uvicorn server on loopback (the gateway tests' helpers) with its ops listener on a free
loopback port of its own (runtime.ops: /metrics, /readyz), and every JSON log line written
meanwhile, collected by service."""

import contextlib
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from auth_service.app import create_app as create_auth
from auth_service.settings import AuthSettings
from compile_service.app import create_app as create_compile
from compile_service.settings import CompileSettings
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from resume_service.app import create_app as create_resume_app
from resume_service.settings import ResumeSettings
from runtime.logs import ContextFilter, JsonFormatter
from tests.fakes.oidc import FakeIssuer
from tests.integration.gateway.conftest import (
    FRONTEND,
    Stack,
    bound_socket,
    closed_port_url,
    serving,
    sign_in,
    url_of,
)

TEMPLATES = Path(__file__).parent / "templates"
# the tests follow successful requests through their access and consumer lines: all of them
# are written (the default, `sampled`, writes one request id in ACCESS_LOG_SAMPLE); and no
# request counts as slow on a loaded machine, so a proxy's line means a failed request
EVERY_LINE = {"access_log": "all", "access_log_slow_seconds": 60.0}
SAME_SITE = {"Origin": FRONTEND}


class LogCollector(logging.Handler):
    """Every record as the JSON line the services write (same filter, same formatter)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []
        self.addFilter(ContextFilter())
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(orjson.loads(self.format(record)))

    def with_id(self, request_id: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("request_id") == request_id]


@dataclass
class ObservedStack:
    stack: Stack  # what the gateway tests' helpers (sign_in) take
    urls: dict[str, str] = field(default_factory=dict)  # service -> its own base URL
    ops_urls: dict[str, str] = field(default_factory=dict)  # service -> its ops listener
    logs: LogCollector = field(default_factory=LogCollector)

    def client(self) -> httpx.AsyncClient:
        return self.stack.client()

    @contextlib.asynccontextmanager
    async def signed_in_client(self) -> AsyncIterator[httpx.AsyncClient]:
        async with self.client() as client:
            await sign_in(self.stack, client)
            yield client


@pytest.fixture(scope="session")
def log_collector() -> Iterator[LogCollector]:
    collector, root = LogCollector(), logging.getLogger()
    level = root.level
    root.addHandler(collector)
    root.setLevel(logging.INFO)
    yield collector
    root.removeHandler(collector)
    root.setLevel(level)


@pytest.fixture(scope="session")
async def observed(service_env: dict[str, Any], log_collector: LogCollector,
                   tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ObservedStack]:
    issuer = await FakeIssuer().start()
    names = ("gateway", "auth_service", "resume_service", "compile_service")
    socks = {name: bound_socket() for name in names}
    urls = {name: url_of(sock) for name, sock in socks.items()}
    ops_ports = {name: free_port() for name in names}
    ops_urls = {name: f"http://127.0.0.1:{port}" for name, port in ops_ports.items()}
    work = tmp_path_factory.mktemp("observed")
    apps = {
        "auth_service": create_auth(AuthSettings(
            **service_env, **EVERY_LINE, oidc_server_metadata_url=issuer.metadata_url,
            oidc_client_id=issuer.client_id, oidc_client_secret=issuer.client_secret,
            oidc_redirect_uri=f"{urls['gateway']}/api/auth/callback", cookie_secure=False,
            relay_poll_seconds=0.2, ops_port=ops_ports["auth_service"])),
        "resume_service": create_resume_app(ResumeSettings(
            **service_env, **EVERY_LINE, relay_poll_seconds=0.2,
            ops_port=ops_ports["resume_service"])),
        "compile_service": create_compile(CompileSettings(
            **service_env, **EVERY_LINE, artifacts_dir=str(work / "artifacts"),
            compile_work_dir=str(work / "tex"), compile_templates_extra_dir=str(TEMPLATES),
            compile_timeout_seconds=10, relay_poll_seconds=0.2,
            ops_port=ops_ports["compile_service"])),
    }
    gateway_settings = GatewaySettings(
        **service_env, **EVERY_LINE, auth_service_url=urls["auth_service"],
        resume_service_url=urls["resume_service"], compile_service_url=urls["compile_service"],
        ai_service_url=closed_port_url(), live_service_url=closed_port_url(),
        allowed_origins=f"{urls['gateway']},{FRONTEND}",
        rate_limit_per_session=100_000, rate_limit_per_ip=100_000, ops_port=ops_ports["gateway"],
        cookie_secure=False)
    async with contextlib.AsyncExitStack() as running:
        for name, app in apps.items():
            await running.enter_async_context(serving(app, socks[name]))
        await running.enter_async_context(serving(create_gateway(gateway_settings),
                                                  socks["gateway"]))
        stack = Stack(issuer, urls["gateway"], urls["auth_service"], urls["resume_service"],
                      gateway_settings)
        yield ObservedStack(stack, urls, ops_urls, log_collector)
    await issuer.stop()


def free_port() -> int:
    """A loopback port nothing listens on (for a listener that binds it itself)."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP listener on `port` is bound to (from /proc/net/tcp{,6}):
    {"127.0.0.1"} for a loopback-only listener."""
    addresses = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    addresses.add(_address(address, width))
    return addresses


def _address(hex_address: str, width: int) -> str:
    raw = bytes.fromhex(hex_address)
    if width == 8:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])  # little-endian in the table
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


async def create_resume(client: httpx.AsyncClient, **headers: str) -> httpx.Response:
    response = await client.post("/api/resume/create", headers={**SAME_SITE, **headers},
                                 json=resume_body())
    assert response.status_code == 201, response.text
    return response


def resume_body(template: str = "classic") -> dict[str, Any]:
    name = f"Ada {uuid.uuid4().hex[:8]}"  # unique content: never an already stored PDF
    return {"title": "Observed", "template": template,
            "contact": {"name": name, "email": "ada@example.com"},
            "sections": [{"title": "Experience", "kind": "experience", "items": [
                {"title": "Engineer", "bullets": ["Wrote the first algorithm"]}]}]}


async def compile_and_wait(client: httpx.AsyncClient, resume_id: str, version: int,
                           template: str = "classic") -> tuple[httpx.Response, dict[str, Any]]:
    """POST /api/compile/{id}; the 202 and the job once finished."""
    response = await client.post(f"/api/compile/{resume_id}", headers=SAME_SITE,
                                 json={"version": version, "template": template})
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    status = await client.get(f"/api/compile/status/{job_id}", params={"wait": 20})
    assert status.status_code == 200, status.text
    job: dict[str, Any] = status.json()
    assert job["status"] in ("succeeded", "failed"), job
    return response, job
