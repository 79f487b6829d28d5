"""Wiring of the gateway: Redis, the session store, the pooled aiohttp client and the proxy,
built in the app factory and lifespan. `/api/*` goes straight to the proxy (plain ASGI, the
hot path); the gateway's own routes (health, readiness, merged OpenAPI, docs, the AsyncAPI
document of the events, and /metrics outside /api) are FastAPI. The whole app is wrapped by
runtime.observe (request id, metrics by `/api/<service>/*`, a JSON access line for each
failed or slow request; the services log the ones they served under the same request id).

Run: ``uvicorn gateway.app:create_app --factory --port 8000``
(``--http runtime.http_server:HttpProtocol`` for speed, as the Procfile does)
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.gate import Gate, Limits
from gateway.guards import OriginPolicy
from gateway.openapi import MergedOpenApi
from gateway.proxy import Proxy
from gateway.routing import API_PREFIX, GATEWAY_PATHS, route_label
from gateway.session_tracking import TrackedSessions
from gateway.settings import GatewaySettings
from runtime import asyncapi
from runtime.http import OrjsonResponse, install_error_handlers
from runtime.identity import IdentitySigner
from runtime.metrics import add_metrics_route
from runtime.observe import observed_proxy
from runtime.sessions import SessionStore

_PROBE_TIMEOUT = aiohttp.ClientTimeout(total=2)


class Gateway:
    """Sends `/api/*` (except the gateway's own documents) to the proxy, the rest to FastAPI."""

    def __init__(self, app: FastAPI, proxy: Proxy) -> None:
        self.app, self.proxy = app, proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(API_PREFIX + "/") and path not in GATEWAY_PATHS:
                await self.proxy(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: GatewaySettings | None = None) -> ASGIApp:
    settings = settings or GatewaySettings()
    proxy = Proxy(settings.upstreams, OriginPolicy(settings.origins),
                  IdentitySigner(settings.identity_signing_key, settings.identity_ttl_seconds),
                  settings.max_body_bytes, settings.trust_forwarded_for)
    docs = MergedOpenApi(settings.upstreams, settings.openapi_cache_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # no per-command socket timeout (it costs a task per call); the gate bounds each
        # round trip it makes with one deadline instead
        redis = Redis.from_url(settings.redis_url, socket_timeout=None,
                               socket_connect_timeout=2, health_check_interval=0)
        sessions = SessionStore(redis, settings.session_idle_seconds,
                                settings.session_absolute_seconds)
        tracked = (TrackedSessions(redis, sessions.prefix + ":")
                   if settings.keep_session_lookups else None)
        gate = Gate(sessions, Limits(settings.rate_limit_window_seconds,
                                     settings.rate_limit_per_session, settings.rate_limit_per_ip),
                    tracked)
        tracking = asyncio.create_task(tracked.run() if tracked else asyncio.sleep(0),
                                       name="session-tracking")
        http = _client_session(settings)
        proxy.start(gate, settings.upstream_pool_size, settings.upstream_connect_timeout_seconds,
                    settings.upstream_timeout_seconds)
        app.state.redis, app.state.http = redis, http
        try:
            yield
        finally:
            tracking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tracking
            proxy.stop()
            await http.close()
            await redis.aclose()

    app = FastAPI(title="gateway", version="1.0.0", lifespan=lifespan, openapi_url=None,
                  docs_url=None, redoc_url=None)
    install_error_handlers(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> OrjsonResponse:
        checks = await _readiness(request.app.state.redis, request.app.state.http,
                                  settings.upstreams)
        ready = all(checks.values())
        return OrjsonResponse({"status": "ready" if ready else "not_ready",
                               "checks": {k: "ok" if v else "down" for k, v in checks.items()}},
                              status_code=200 if ready else 503)

    @app.get(API_PREFIX + "/openapi.json")
    async def openapi(request: Request) -> OrjsonResponse:
        return OrjsonResponse(await docs.document(request.app.state.http))

    @app.get(API_PREFIX + "/docs")
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=API_PREFIX + "/openapi.json",
                                   title="Resume builder API")

    _add_event_docs(app)
    if settings.metrics_enabled:
        add_metrics_route(app, "gateway")  # outside /api: never reached from the proxy
    return observed_proxy(Gateway(app, proxy), "gateway", settings, route_of=route_label)


def _add_event_docs(app: FastAPI) -> None:
    """The AsyncAPI document of every event (runtime.asyncapi), made on first request."""
    made: dict[str, Any] = {}

    def document() -> dict[str, Any]:
        if "json" not in made:
            made["json"], made["html"] = asyncapi.document(), asyncapi.html_page()
        return made

    @app.get(API_PREFIX + "/asyncapi.json")
    async def asyncapi_json() -> OrjsonResponse:
        return OrjsonResponse(document()["json"])

    @app.get(API_PREFIX + "/asyncapi")
    async def asyncapi_page() -> HTMLResponse:
        return HTMLResponse(document()["html"])


def _client_session(settings: GatewaySettings) -> aiohttp.ClientSession:
    """For the gateway's own calls (readiness, the OpenAPI merge); forwarding has its own
    pools (gateway.upstream)."""
    connector = aiohttp.TCPConnector(limit=16, keepalive_timeout=4, ttl_dns_cache=300)
    timeout = aiohttp.ClientTimeout(total=None, connect=settings.upstream_connect_timeout_seconds,
                                    sock_read=settings.upstream_timeout_seconds)
    # bytes pass through untouched (no decompression), and no headers of our own
    return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                 skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
                                 cookie_jar=aiohttp.DummyCookieJar())


async def _readiness(redis: Redis, http: aiohttp.ClientSession,
                     upstreams: dict[str, str]) -> dict[str, bool]:
    async def redis_ok() -> bool:
        try:
            return bool(await redis.ping())
        except RedisError:
            return False

    async def service_ok(url: str) -> bool:
        try:
            async with http.get(url.rstrip("/") + "/healthz", timeout=_PROBE_TIMEOUT) as resp:
                return resp.status == 200
        except (TimeoutError, aiohttp.ClientError):
            return False

    names = list(upstreams)
    results: list[Any] = await asyncio.gather(redis_ok(), *(service_ok(upstreams[n])
                                                            for n in names))
    return {"redis": results[0], **dict(zip(names, results[1:], strict=True))}
