"""The ops listener of a process: `/metrics`, `/readyz` and `/healthz` on OPS_HOST:OPS_PORT
(127.0.0.1 by default; OPS_PORT=0: none), a listener of its own so that the public one (the
gateway's above all) never serves the process's metrics or the state of its dependencies.

Every process starts one for its lifetime: an HTTP service in its app's lifespan, a worker
or relay around its main coroutine. `/readyz` runs the process's checks (named probes of
its dependencies: the database, Redis, the broker, the gateway's upstreams) concurrently,
each bounded by CHECK_SECONDS, and answers 503 naming the ones that are down.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import aiohttp
from aiohttp import web
from faststream.rabbit import RabbitBroker
from prometheus_client import CONTENT_TYPE_LATEST
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.metrics import service_metrics
from runtime.settings import ServiceSettings

Check = Callable[[], Awaitable[object]]  # fails (raises, or returns False) when not ready
CHECK_SECONDS = 2.0
BROKER_PING_SECONDS = 0.5


@contextlib.asynccontextmanager
async def ops_listener(service: str, settings: ServiceSettings,
                       checks: Mapping[str, Check]) -> AsyncIterator[None]:
    """Serves the ops endpoints for the span of the block (nothing when OPS_PORT is 0)."""
    if not settings.ops_port:
        yield
        return
    runner = web.AppRunner(ops_app(service, checks, settings.metrics_enabled),
                           access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.ops_host, settings.ops_port).start()
        yield
    finally:
        await runner.cleanup()


def ops_app(service: str, checks: Mapping[str, Check], metrics: bool) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        results = await run_checks(checks)
        ready = all(results.values())
        return web.json_response(
            {"status": "ready" if ready else "not_ready",
             "checks": {name: "ok" if ok else "down" for name, ok in results.items()}},
            status=200 if ready else 503)

    async def metrics_page(_: web.Request) -> web.Response:
        # CONTENT_TYPE_LATEST carries its charset, which aiohttp's content_type refuses
        return web.Response(body=service_metrics(service).exposition(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if metrics:
        app.router.add_get("/metrics", metrics_page)
    return app


async def run_checks(checks: Mapping[str, Check]) -> dict[str, bool]:
    names = list(checks)
    results = await asyncio.gather(*(_passes(checks[name]) for name in names))
    return dict(zip(names, results, strict=True))


async def _passes(check: Check) -> bool:
    try:
        return await asyncio.wait_for(check(), CHECK_SECONDS) is not False
    except Exception:  # any failure of a probe, the timeout included, is "down"
        return False


# -- checks -----------------------------------------------------------------------------------

def database_check(engine: AsyncEngine) -> Check:
    async def select_one() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    return select_one


def redis_check(redis: Redis) -> Check:
    async def ping() -> bool:
        return bool(await redis.ping())
    return ping


def broker_check(broker: RabbitBroker) -> Check:
    """Connected to RabbitMQ (False while the process still waits for it, or after losing it
    until the connection is restored)."""
    async def connected() -> bool:
        return await broker.ping(BROKER_PING_SECONDS)
    return connected


def healthz_check(http: aiohttp.ClientSession, base_url: str) -> Check:
    """Another process answers its public /healthz (the gateway's upstream services)."""
    async def answers() -> bool:
        async with http.get(base_url.rstrip("/") + "/healthz") as response:
            return response.status == 200
    return answers


def service_checks(engine: AsyncEngine, broker: RabbitBroker,
                   redis: Redis | None = None) -> dict[str, Check]:
    """What a service, worker or relay needs: its database, its broker, Redis where used."""
    checks = {"database": database_check(engine), "broker": broker_check(broker)}
    if redis is not None:
        checks["redis"] = redis_check(redis)
    return checks
