"""Cache hits of `GET /resume/{id}` and `GET /resume/all`, answered before the framework.

A hit is one Redis round trip and a few kilobytes sent back; FastAPI's routing, dependency
solving and response objects cost more than that (the plain route with the same read cache
spends about 1.5 times the CPU per hit: bench/protocol.py cached_reads), so hits skip them.
Everything else (a miss, a missing or bad identity, a malformed id, any other route) goes to
the app unchanged, which checks again, looks the cache up again and answers as usual. A hit
is labelled with the app's own route for that path, as if the router had matched it, so
metrics and logs name it the same either way.
"""

import uuid
from typing import Any

from fastapi.routing import APIRoute
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from resume_service.api import router
from resume_service.service import ALL_KEY, resume_key

_PREFIX = "/resume/"
_ONE, _ALL = "/resume/{resume_id}", "/resume/all"


class CachedReadShortcut:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.routes = {route.path_format: route for route in router.routes
                       if isinstance(route, APIRoute) and "GET" in (route.methods or ())}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lookup = _lookup_of(scope) if scope["type"] == "http" else None
        if lookup is None:
            await self.app(scope, receive, send)
            return
        service, user_id, key, route = lookup
        try:
            cached = await service.cache.get(user_id, key)
        except RedisError:
            await self.app(scope, receive, send)  # the app logs it and reads the database
            return
        if cached.value is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.routes[route]  # what the router would have matched
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(cached.value)).encode())]})
        await send({"type": "http.response.body", "body": cached.value})


def _lookup_of(scope: Scope) -> tuple[Any, str, str, str] | None:
    """(service, user, cache key, route template) for a cacheable read with a valid
    identity."""
    path: str = scope["path"]
    if scope["method"] != "GET" or not path.startswith(_PREFIX):
        return None
    service = scope["app"].state.service
    if service.cache is None:
        return None
    key, route = _cache_key(path[len(_PREFIX):])
    if key is None:
        return None
    identity = scope["app"].state.identity.verify_scope(scope)
    return (service, identity.user_id, key, route) if identity else None


def _cache_key(rest: str) -> tuple[str | None, str]:
    if rest == ALL_KEY:
        return ALL_KEY, _ALL
    if len(rest) != 36:  # the canonical UUID form, the only one worth a shortcut
        return None, _ONE
    try:
        return resume_key(str(uuid.UUID(rest))), _ONE
    except ValueError:
        return None, _ONE
