"""One OpenAPI document for the whole public API, merged from each service's /openapi.json.

Paths get the `/api` prefix the gateway adds; component schemas are merged by name (the
services share their error shapes). A service that is down is left out and named under
`x-unavailable-services`, so the document still serves. The result is cached briefly.

Every forwarded operation also lists what the gateway itself may answer before or instead of
the service (gateway.proxy): bad requests, no session, cross-site writes, a body too slow or
too large, rate limits, and a service that is broken, down or too slow, all in the shared
`ErrorResponse` shape, with `Retry-After` on 429 and 503. What a service documents for the
same status stays; only the header is added to it.
"""

import asyncio
import copy
import logging
import time
from typing import Any

import aiohttp

from gateway.guards import SAFE_METHODS
from gateway.routing import is_public
from runtime.http import ErrorResponse
from runtime.sessions import SESSION_COOKIE

log = logging.getLogger(__name__)

_FETCH_TIMEOUT = aiohttp.ClientTimeout(total=3)

ERROR_SCHEMA = "ErrorResponse"
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# status -> description of the answers the gateway gives itself, on any forwarded route
GATEWAY_ANSWERS = {
    "400": "Refused by the gateway: a path with empty or dot segments, a malformed header, "
           "more than one session cookie or a bad Content-Length",
    "401": "No valid session: sign in first",
    "403": "A cross-site request: this method needs an allowed Origin (or Referer)",
    "408": "The request body did not arrive in time",
    "413": "The request body is too large",
    "429": "Too many requests: try again after Retry-After seconds",
    "502": "The service answered something that is not HTTP",
    "503": "The service or the session store is unavailable: try again shortly "
           "(after Retry-After seconds, when given)",
    "504": "The service took too long to answer",
}
# the gateway and ai_service always say when to come back from a 429; a 503 may not know
_RETRY_AFTER_REQUIRED = {"429": True, "503": False}


class MergedOpenApi:
    def __init__(self, upstreams: dict[str, str], cache_seconds: float,
                 session_cookie: str = SESSION_COOKIE) -> None:
        self.upstreams, self.cache_seconds = upstreams, cache_seconds
        self.session_cookie = session_cookie  # `__Host-rb_session` over HTTPS
        self._cached: tuple[float, dict[str, Any]] | None = None

    async def document(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        now = time.monotonic()
        if self._cached and now - self._cached[0] < self.cache_seconds:
            return self._cached[1]
        names = list(self.upstreams)
        specs = await asyncio.gather(*(self._fetch(http, self.upstreams[n]) for n in names))
        merged = merge(dict(zip(names, specs, strict=True)), self.session_cookie)
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


def merge(specs: dict[str, dict[str, Any] | None],
          session_cookie: str = SESSION_COOKIE) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for spec in specs.values():
        if not spec:
            continue
        for path, item in spec.get("paths", {}).items():
            paths["/api" + path] = _with_gateway_answers("/api" + path, copy.deepcopy(item))
        for name, schema in spec.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(name, schema)
    for name, schema in _error_schemas().items():
        schemas.setdefault(name, schema)  # the services' own, unless none is up
    return {
        "openapi": "3.1.0",
        "info": {"title": "Resume builder API", "version": "1.0.0",
                 "description": "Every public route, through the gateway. Sign in at "
                                "/api/auth/login; the session cookie authenticates the rest."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": session_cookie}}},
        "security": [{"session": []}],
        "x-unavailable-services": sorted(name for name, spec in specs.items() if not spec),
    }


def _error_schemas() -> dict[str, Any]:
    """`ErrorResponse` and what it refers to, as the services publish them (runtime.http)."""
    schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    defs: dict[str, Any] = schema.pop("$defs", {})
    return {ERROR_SCHEMA: schema, **defs}


def _with_gateway_answers(path: str, item: dict[str, Any]) -> dict[str, Any]:
    """Add the gateway's own answers to each operation of a path item (in place)."""
    for method, operation in item.items():
        if method not in _HTTP_METHODS or not isinstance(operation, dict):
            continue
        if is_public(path):
            operation["security"] = []  # no session needed: sign-in routes, share links
        responses: dict[str, Any] = operation.setdefault("responses", {})
        for status, description in GATEWAY_ANSWERS.items():
            if status == "401" and is_public(path):
                continue  # no session needed (a share's own 401 is its password)
            if status == "403" and method.upper() in SAFE_METHODS:
                continue  # the cross-site rule is for unsafe methods only (gateway.guards)
            response = responses.setdefault(status, {
                "description": description,
                "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}})
            if status in _RETRY_AFTER_REQUIRED:
                response.setdefault("headers", {}).setdefault("Retry-After", {
                    "description": "Seconds to wait before trying again",
                    "required": _RETRY_AFTER_REQUIRED[status],
                    "schema": {"type": "integer", "minimum": 0}})
    return item
