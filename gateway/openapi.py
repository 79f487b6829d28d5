"""One OpenAPI document for the whole public API, merged from each service's /openapi.json.

Paths get the `/api` prefix the gateway adds; component schemas are merged by name (the
services share their error shapes). A service that is down is left out and named under
`x-unavailable-services`, so the document still serves. The result is cached briefly.
"""

import asyncio
import copy
import logging
import time
from typing import Any

import aiohttp

from runtime.sessions import SESSION_COOKIE

log = logging.getLogger(__name__)

_FETCH_TIMEOUT = aiohttp.ClientTimeout(total=3)


class MergedOpenApi:
    def __init__(self, upstreams: dict[str, str], cache_seconds: float) -> None:
        self.upstreams, self.cache_seconds = upstreams, cache_seconds
        self._cached: tuple[float, dict[str, Any]] | None = None

    async def document(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        now = time.monotonic()
        if self._cached and now - self._cached[0] < self.cache_seconds:
            return self._cached[1]
        names = list(self.upstreams)
        specs = await asyncio.gather(*(self._fetch(http, self.upstreams[n]) for n in names))
        merged = merge(dict(zip(names, specs, strict=True)))
        if not merged["x-unavailable-services"]:
            self._cached = (now, merged)  # keep retrying while a service is missing
        return merged

    async def _fetch(self, http: aiohttp.ClientSession, base_url: str) -> dict[str, Any] | None:
        try:
            async with http.get(base_url.rstrip("/") + "/openapi.json",
                                timeout=_FETCH_TIMEOUT) as response:
                if response.status != 200:
                    return None
                spec: dict[str, Any] = await response.json()
                return spec
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.info("no OpenAPI from %s: %r", base_url, exc)
            return None


def merge(specs: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for spec in specs.values():
        if not spec:
            continue
        for path, item in spec.get("paths", {}).items():
            paths["/api" + path] = copy.deepcopy(item)
        for name, schema in spec.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(name, schema)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Resume builder API", "version": "1.0.0",
                 "description": "Every public route, through the gateway. Sign in at "
                                "/api/auth/login; the session cookie authenticates the rest."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}}},
        "security": [{"session": []}],
        "x-unavailable-services": sorted(name for name, spec in specs.items() if not spec),
    }
