"""The ops listener (runtime.ops): `/metrics`, `/readyz` and `/healthz` of every process kind
(the gateway, a service, an outbox relay run as its own process) answer on a port of their
own bound to 127.0.0.1 and never on the public listener; readiness names the dependency
that is down."""

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from resume_service.app import create_app as create_resume_app
from resume_service.settings import ResumeSettings
from tests.integration.gateway.conftest import bound_socket, closed_port_url, serving, url_of
from tests.integration.observability.conftest import ObservedStack, free_port, listening_addresses

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("gateway", "auth_service", "resume_service", "compile_service")
OPS_ONLY = ("/metrics", "/readyz")


async def ready_within(url: str, timeout: float = 15.0) -> httpx.Response:
    """/readyz once it answers 200 (a broker connects in the background), or its last answer."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            response = await client.get(f"{url}/readyz")
            if response.status_code == 200 or time.monotonic() > deadline:
                return response
            await asyncio.sleep(0.2)


async def test_every_process_serves_metrics_and_readiness_on_its_loopback_ops_port(
        observed: ObservedStack) -> None:
    async with httpx.AsyncClient() as client:
        for name in SERVICES:
            ops = observed.ops_urls[name]
            assert listening_addresses(int(ops.rsplit(":", 1)[1])) == {"127.0.0.1"}, name
            metrics = await client.get(f"{ops}/metrics")
            assert metrics.status_code == 200 and "rb_http_requests_total" in metrics.text
            assert (await client.get(f"{ops}/healthz")).json() == {"status": "ok"}
    for name in SERVICES[1:]:
        ready = await ready_within(observed.ops_urls[name])
        assert ready.status_code == 200, (name, ready.text)
        assert set(ready.json()["checks"]) >= {"database", "broker"}


async def test_public_listeners_answer_404_for_metrics_and_readiness(
        observed: ObservedStack) -> None:
    async with httpx.AsyncClient() as client:
        for name in SERVICES:
            for path in OPS_ONLY:
                response = await client.get(f"{observed.urls[name]}{path}")
                assert response.status_code == 404, (name, path, response.status_code)
                assert "rb_http_requests_total" not in response.text
            assert (await client.get(f"{observed.urls[name]}/healthz")).status_code == 200


async def test_gateway_readiness_names_the_upstream_that_is_down(
        observed: ObservedStack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:  # ai and live are not running here
        ready = await client.get(f"{observed.ops_urls['gateway']}/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not_ready", "checks": {
        "redis": "ok", "auth": "ok", "resume": "ok", "compile": "ok", "ai": "down",
        "live": "down"}}


async def test_service_readiness_names_redis_when_it_is_down(
        service_env: dict[str, Any]) -> None:
    redis_gone = closed_port_url().replace("http://", "redis://") + "/0"
    # no read cache: no consumer of its own to take the session's messages
    settings = ResumeSettings(**{**service_env, "redis_url": redis_gone}, read_cache=False,
                              relay_in_process=False, ops_port=free_port())
    sock = bound_socket()
    async with serving(create_resume_app(settings), sock):
        ready = await ready_within(f"http://127.0.0.1:{settings.ops_port}", timeout=3)
        async with httpx.AsyncClient() as client:
            public = await client.get(f"{url_of(sock)}/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"] == "down"
    assert ready.json()["checks"]["database"] == "ok"
    assert public.status_code == 404


@contextlib.contextmanager
def relay_process(service_env: dict[str, Any], ops_port: int, **env: str) -> Iterator[str]:
    """`python -m ops.relay resume_service` as the Procfile runs it; yields its ops URL
    once it answers /healthz."""
    settings = {k.upper(): str(v) for k, v in service_env.items()}
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.relay", "resume_service"], cwd=ROOT,
        env={**os.environ, **settings, "PYTHONPATH": str(ROOT), "OPS_PORT": str(ops_port),
             "LOG_LEVEL": "WARNING", **env})
    url = f"http://127.0.0.1:{ops_port}"
    try:
        deadline = time.monotonic() + 20
        while not _answers(f"{url}/healthz"):
            assert process.poll() is None, "the relay exited"
            assert time.monotonic() < deadline, "the relay's ops listener never answered"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def test_a_relay_serves_metrics_and_readiness_on_loopback(
        service_env: dict[str, Any]) -> None:
    port = free_port()
    with relay_process(service_env, port) as ops:
        assert listening_addresses(port) == {"127.0.0.1"}
        ready = await ready_within(ops)
        async with httpx.AsyncClient() as client:
            metrics = await client.get(f"{ops}/metrics")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert metrics.status_code == 200 and "rb_outbox_backlog" in metrics.text


@pytest.mark.parametrize("down", ["broker", "database"])
async def test_relay_readiness_names_the_dependency_that_is_down(
        service_env: dict[str, Any], down: str) -> None:
    closed = closed_port_url().removeprefix("http://")
    env = ({"AMQP_URL": f"amqp://guest:guest@{closed}/"} if down == "broker"
           else {"DATABASE_URL": f"postgresql+asyncpg://postgres@{closed}/none"})
    with relay_process(service_env, free_port(), **env) as ops:
        async with httpx.AsyncClient(timeout=10) as client:
            ready = await client.get(f"{ops}/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"][down] == "down"
