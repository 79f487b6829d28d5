"""Every process of the Procfile (gateway, services, workers, relays) serves `/metrics`,
`/readyz` and `/healthz` on its own ops port, bound to 127.0.0.1, and its public port (the
gateway's above all) answers 404 for `/metrics` and `/readyz`."""

import asyncio
import time

import httpx

from tests.e2e.conftest import OPS_PORT_VARIABLES, PORT_VARIABLES, Stack
from tests.integration.observability.conftest import listening_addresses

READY_TIMEOUT = 20.0


async def readiness(client: httpx.AsyncClient, url: str) -> httpx.Response:
    """/readyz once it answers 200, or its last answer after READY_TIMEOUT."""
    deadline = time.monotonic() + READY_TIMEOUT
    while (response := await client.get(f"{url}/readyz")).status_code != 200:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    return response


async def test_every_process_serves_metrics_and_readiness_on_its_loopback_ops_port(
        stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for variable in OPS_PORT_VARIABLES:
            url = stack.url_of(variable)
            assert listening_addresses(stack.ports[variable]) == {"127.0.0.1"}, variable
            metrics = await client.get(f"{url}/metrics")
            assert metrics.status_code == 200, variable
            assert "process_cpu_seconds_total" in metrics.text, variable
            assert (await client.get(f"{url}/healthz")).json() == {"status": "ok"}
            ready = await readiness(client, url)
            assert ready.status_code == 200, (variable, ready.text)
            assert ready.json()["status"] == "ready"


async def test_public_ports_never_serve_metrics_or_readiness(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for variable in PORT_VARIABLES:
            for path in ("/metrics", "/readyz"):
                response = await client.get(f"{stack.url_of(variable)}{path}")
                assert response.status_code == 404, (variable, path, response.status_code)


async def test_gateway_readiness_checks_redis_and_every_upstream(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        ready = await readiness(client, stack.url_of("GATEWAY_OPS_PORT"))
    assert ready.json()["checks"] == {name: "ok" for name in
                                      ("redis", "auth", "resume", "compile", "ai", "live")}
