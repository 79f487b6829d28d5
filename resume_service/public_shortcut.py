"""Cache hits of `GET /public/{slug}` for a share without a password, answered before the
framework, as resume_service/cached_reads.py does for the owner's reads (and for the same
reason: FastAPI's routing, dependencies and response objects cost more than the hit). The
view is recorded as the route would record it. Anything else (a miss, a protected or expired
share, a malformed slug, any other route) goes to the app unchanged."""

import re
from typing import Any

from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from resume_service.public import address_of, router

_PREFIX = "/public/"
_SLUG = re.compile(r"[A-Za-z0-9_-]{8,64}")
_ROUTE = "/public/{slug}"


class PublicReadShortcut:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.route = next(r for r in router.routes
                          if isinstance(r, APIRoute) and r.path_format == _ROUTE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        slug = _slug_of(scope) if scope["type"] == "http" else None
        state: Any = scope["app"].state if slug else None
        share = await _open_hit(state, slug) if slug else None
        if share is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        state.views.record(share, "view", address_of(headers.get(b"x-forwarded-for"),
                                                     scope.get("client")),
                           headers.get(b"user-agent", b"").decode("latin-1"))
        scope["route"] = self.route  # what the router would have matched
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"cache-control", b"no-store"),
            (b"content-length", str(len(share.body)).encode())]})
        await send({"type": "http.response.body", "body": share.body})


def _slug_of(scope: Scope) -> str | None:
    path: str = scope["path"]
    if scope["method"] != "GET" or not path.startswith(_PREFIX):
        return None
    slug = path[len(_PREFIX):]
    return slug if _SLUG.fullmatch(slug) else None


async def _open_hit(state: Any, slug: str) -> Any:
    """The cached share of `slug` when it needs no password and has not expired."""
    try:
        share = await state.shares.cached(slug)
    except Exception:  # the app asks again, and answers what went wrong
        return None
    if share is None or share.protected:
        return None
    if share.expires_at is not None and share.expires_at <= state.service.clock().timestamp():
        return None
    return share
