"""Wiring of the gateway: Redis, the session store, the pooled aiohttp client and the proxy,
built in the app factory and lifespan. `/api/*` goes straight to the proxy (plain ASGI, the
hot path); the gateway's own routes (health, merged OpenAPI, docs, the AsyncAPI document of
the events) are FastAPI; every other path is the web client's (gateway.web_assets). The whole
app is wrapped by runtime.observe (request id, metrics by `/api/<service>/*`, a JSON access
line for each failed or slow request; the services log the ones they served under the same
request id). Its metrics and readiness (Redis and every
upstream's /healthz) are on the ops listener (runtime.ops, OPS_PORT), never on this one.

Run: ``uvicorn gateway.app:create_app --factory --port 8000``
(``--http runtime.http_server:HttpProtocol`` for the request-head deadline, as the Procfile
does)
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from redis.asyncio import BlockingConnectionPool, Redis
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.addresses import ClientAddresses
from gateway.gate import Gate, Limits
from gateway.guards import OriginPolicy
from gateway.long_polls import LongPollCaps
from gateway.openapi import MergedOpenApi
from gateway.proxy import EdgeRules, Proxy
from gateway.routing import API_PREFIX, GATEWAY_PATHS, route_label
from gateway.session_tracking import TrackedSessions
from gateway.settings import GatewaySettings
from gateway.web_assets import WebAssets
from runtime import asyncapi
from runtime.http import OrjsonResponse, install_error_handlers
from runtime.identity import IdentitySigner
from runtime.observe import observed_proxy
from runtime.ops import Check, healthz_check, ops_listener, redis_check
from runtime.sessions import SessionStore


class Gateway:
    """Sends `/api/*` (except the gateway's own documents) to the proxy, the gateway's own
    routes to FastAPI, and every other path to the web client."""

    def __init__(self, app: FastAPI, proxy: Proxy, web: WebAssets) -> None:
        self.app, self.proxy, self.web = app, proxy, web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(API_PREFIX + "/") and path not in GATEWAY_PATHS:
                await self.proxy(scope, receive, send)
                return
            if not path.startswith(API_PREFIX) and path not in OWN_PATHS:
                await self.web(scope, receive, send)
                return
        await self.app(scope, receive, send)


# outside /api, not the client's: the gateway's health (FastAPI), and the ops listener's
# paths, which FastAPI answers 404 here (the public port never serves them, not even as the
# client's page)
OWN_PATHS = frozenset({"/healthz", "/metrics", "/readyz"})


def create_app(settings: GatewaySettings | None = None) -> ASGIApp:
    settings = settings or GatewaySettings()
    proxy = Proxy(settings.upstreams, OriginPolicy(settings.origins),
                  IdentitySigner(settings.identity_signing_key, settings.identity_ttl_seconds),
                  edge_rules(settings))
    docs = MergedOpenApi(settings.upstreams, settings.openapi_cache_seconds,
                         settings.session_cookie)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = _redis(settings)
        sessions = SessionStore(redis, settings.session_idle_seconds,
                                settings.session_absolute_seconds)
        tracked = (TrackedSessions(settings.redis_url, sessions.prefix + ":")
                   if settings.keep_session_lookups else None)
        gate = Gate(sessions, Limits(settings.rate_limit_window_seconds,
                                     settings.rate_limit_per_session, settings.rate_limit_per_ip),
                    tracked)
        tracking = asyncio.create_task(tracked.run() if tracked else asyncio.sleep(0),
                                       name="session-tracking")
        http = _client_session(settings)
        proxy.start(gate, settings.pool_sizes, settings.upstream_connect_timeout_seconds,
                    settings.upstream_timeout_seconds, settings.upstream_slot_timeout_seconds)
        app.state.redis, app.state.http = redis, http
        try:
            async with ops_listener("gateway", settings, _readiness_checks(redis, http,
                                                                           settings.upstreams)):
                yield
        finally:
            tracking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tracking
            proxy.stop()
            await http.close()
            await redis.aclose()

    app = FastAPI(title="gateway", version="1.0.0", lifespan=lifespan, openapi_url=None,
                  docs_url=None, redoc_url=None, redirect_slashes=False)
    install_error_handlers(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(API_PREFIX + "/openapi.json")
    async def openapi(request: Request) -> OrjsonResponse:
        return OrjsonResponse(await docs.document(request.app.state.http))

    @app.get(API_PREFIX + "/docs")
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=API_PREFIX + "/openapi.json",
                                   title="Resume builder API")

    _add_event_docs(app)
    return observed_proxy(Gateway(app, proxy, WebAssets(settings.web_dist)), "gateway",
                          settings, route_of=route_label)


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


def _redis(settings: GatewaySettings) -> Redis:
    """A pool that makes a burst of requests wait for a free connection instead of failing
    past redis-py's default cap of 100 (a stranger's 300 connections at once would turn every
    cold lookup into a 503). No per-command socket timeout (it costs a task per call): the
    gate bounds each round trip it makes, the wait for a connection included, with one
    deadline instead."""
    pool = BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=settings.redis_max_connections, timeout=None,
        socket_timeout=None, socket_connect_timeout=2, health_check_interval=0)
    return Redis(connection_pool=pool)


def edge_rules(settings: GatewaySettings) -> EdgeRules:
    return EdgeRules(settings.max_body_bytes, settings.client_body_timeout_seconds,
                     settings.session_cookie, ClientAddresses(settings.proxy_networks),
                     LongPollCaps(settings.long_polls_per_session, settings.long_polls_per_ip),
                     settings.max_upload_bytes,
                     LongPollCaps(settings.event_streams_per_session,
                                  settings.event_streams_per_ip))


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


def _readiness_checks(redis: Redis, http: aiohttp.ClientSession,
                      upstreams: dict[str, str]) -> dict[str, Check]:
    return {"redis": redis_check(redis),
            **{name: healthz_check(http, url) for name, url in upstreams.items()}}
