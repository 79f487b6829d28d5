"""HTTP plumbing every service shares: one JSON error shape, body limits, request ids,
503 when a database, cache or broker is down.

Errors look like ``{"error": {"code": "...", "message": "...", ...details}}``.
"""

import logging
import re
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import aiormq.exceptions
import asyncpg
import orjson
import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
DEPENDENCY_RETRY_AFTER_SECONDS = 1


class OrjsonResponse(JSONResponse):
    """JSON rendered by orjson (datetimes, UUIDs and bytes-fast)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorBody


def error_response(status: int, code: str, message: str,
                   headers: Mapping[str, str] | None = None, **details: Any) -> OrjsonResponse:
    headers = dict(headers or {})
    if "retry_after" in details:
        headers["Retry-After"] = str(details["retry_after"])
    return OrjsonResponse({"error": {"code": code, "message": message, **details}},
                          status_code=status, headers=headers or None)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the given error statuses."""
    return {s: {"model": ErrorResponse} for s in statuses}


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    return [
        {"path": ".".join(str(p) for p in err["loc"][1:]) or str(err["loc"][0]),
         "message": err["msg"], "type": err["type"]}
        for err in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> OrjsonResponse:
        return error_response(exc.status, exc.code, exc.message, **exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> OrjsonResponse:
        return error_response(422, "validation_error", "the request is not valid",
                              fields=_field_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> OrjsonResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names only the first route of the path
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)

    for error in DEPENDENCY_ERRORS:
        app.add_exception_handler(error, _dependency_unavailable)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app accepts for the request's path (asked of the
    routes themselves: FastAPI nests an included router's routes in one route)."""
    routes = request.app.router.routes
    return [method for method in _METHODS
            if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
                   for route in routes)]


# What a database, cache or broker that is down (or refusing connections) raises. The ones
# that can also mean something else (DBAPIError, OSError) are sorted by dependency_of.
DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    sqlalchemy.exc.DBAPIError, sqlalchemy.exc.TimeoutError, asyncpg.PostgresError,
    asyncpg.InterfaceError, OSError, redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError, aiormq.exceptions.ChannelInvalidStateError,
)
_DATABASE_DOWN = (
    asyncpg.PostgresConnectionError,  # SQLSTATE 08: connection refused, lost, or never made
    asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError,  # 57P03, 57P01
    asyncpg.CrashShutdownError, asyncpg.TooManyConnectionsError,  # 57P02, 53300
    asyncpg.InvalidCatalogNameError,  # the database is not there (yet)
    asyncpg.InterfaceError,  # "connection is closed"
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
)
_CACHE_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
_BROKER_DOWN = (aiormq.exceptions.AMQPConnectionError,
                aiormq.exceptions.ChannelInvalidStateError)
_LIBRARIES = {"sqlalchemy": "database", "asyncpg": "database", "redis": "cache",
              "aiormq": "broker", "aio_pika": "broker", "faststream": "broker"}


def dependency_of(exc: BaseException) -> str | None:
    """"database", "cache" or "broker" when `exc` says that one is unreachable; None when it
    is some other failure (a constraint, a bug), which stays a 500."""
    for cause in _causes(exc):
        if isinstance(cause, sqlalchemy.exc.DBAPIError) and cause.connection_invalidated:
            return "database"
        for kinds, dependency in ((_CACHE_DOWN, "cache"), (_BROKER_DOWN, "broker"),
                                  (_DATABASE_DOWN, "database")):
            if isinstance(cause, kinds):
                return dependency
        if isinstance(cause, OSError):  # a socket error: whose, says the library raising it
            return _library_raising(cause.__traceback__)
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _library_raising(tb: TracebackType | None) -> str | None:
    modules = []
    while tb is not None:
        modules.append(tb.tb_frame.f_globals.get("__name__", "").partition(".")[0])
        tb = tb.tb_next
    return next((_LIBRARIES[m] for m in reversed(modules) if m in _LIBRARIES), None)


def _qualified(cls: type) -> str:
    return f"{cls.__module__.partition('.')[0]}.{cls.__name__}"


async def _dependency_unavailable(request: Request, exc: Exception) -> OrjsonResponse:
    dependency = dependency_of(exc)
    if dependency is None:
        raise exc
    # class names only: the text of a DBAPIError carries the statement's parameters
    log.warning("%s unavailable during %s %s: %s", dependency, request.method,
                request.url.path, " <- ".join(_qualified(type(c)) for c in _causes(exc)))
    return error_response(503, "dependency_unavailable",
                          f"the {dependency} is unavailable; retry shortly",
                          dependency=dependency, retry_after=DEPENDENCY_RETRY_AFTER_SECONDS)


_PREFIX = re.compile(r"(/[A-Za-z0-9_-]+){1,4}")


def public_prefix(request: Request) -> str:
    """The path prefix under which the caller sees this service (the gateway sends
    X-Forwarded-Prefix: /api), for the links a response carries; "" when called directly."""
    prefix = request.headers.get("x-forwarded-prefix", "")
    return prefix if _PREFIX.fullmatch(prefix) else ""


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if 0 < len(candidate) <= 128 and candidate.isprintable():
                return candidate
    return None


class BodyLimitMiddleware:
    """Answers 413 when a request body passes the limit, by Content-Length or as it streams.
    `path_limits` give exact paths (an upload route) a limit of their own."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 path_limits: Mapping[str, int] | None = None) -> None:
        self.app, self.max_bytes, self.path_limits = app, max_bytes, dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"], self.max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._too_large(scope, receive, send, limit)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await self._too_large(scope, receive, send, limit)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = error_response(413, "body_too_large",
                                  f"the request body is over {limit} bytes")
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def install_http_plumbing(app: FastAPI, max_body_bytes: int,
                          path_limits: Mapping[str, int] | None = None) -> None:
    """JSON errors, the body limit and `/healthz` (request ids: runtime.observe)."""
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes, path_limits=path_limits)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}
