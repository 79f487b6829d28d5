"""Cache hits of `GET /resume/{id}` and `GET /resume/all`, answered before the framework.

A hit is one Redis round trip and a few kilobytes sent back; FastAPI's routing, dependency
solving and response objects cost more than that, so hits skip them. Everything else (a miss,
a missing or bad identity, a malformed id, any other route) goes to the app unchanged, which
checks again and answers as usual. The lookup made here is left in the request state, so a
miss still costs one Redis round trip, not two.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from resume_service.service import ALL_KEY, resume_key
from runtime.cache import CachedRead

_PREFIX = "/resume/"
_STATE_KEY = "read_cache_lookup"


@dataclass(frozen=True)
class _RouteLabel:
    """What metrics read from `scope["route"]`: the template the request matched."""

    path_format: str


_ONE, _ALL = _RouteLabel("/resume/{resume_id}"), _RouteLabel("/resume/all")


class CachedReadShortcut:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            scope.setdefault("state", {})[_STATE_KEY] = (user_id, key, cached)
            await self.app(scope, receive, send)
            return
        scope["route"] = route
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(cached.value)).encode())]})
        await send({"type": "http.response.body", "body": cached.value})


def _lookup_of(scope: Scope) -> tuple[Any, str, str, _RouteLabel] | None:
    """(service, user, cache key, route) for a cacheable read with a valid identity."""
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


def _cache_key(rest: str) -> tuple[str | None, _RouteLabel]:
    if rest == ALL_KEY:
        return ALL_KEY, _ALL
    if len(rest) != 36:  # the canonical UUID form, the only one worth a shortcut
        return None, _ONE
    try:
        return resume_key(str(uuid.UUID(rest))), _ONE
    except ValueError:
        return None, _ONE


def prefetched(request: Request, user_id: str, key: str) -> CachedRead | None:
    """The miss the shortcut already looked up for this request, if it did."""
    lookup = request.scope.get("state", {}).get(_STATE_KEY)
    if lookup is None or lookup[0] != user_id or lookup[1] != key:
        return None
    return lookup[2]  # type: ignore[no-any-return]
