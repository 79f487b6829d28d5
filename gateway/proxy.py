"""The forwarding hot path, as a plain ASGI handler (no framework on the way: every
microsecond here is paid by every API call).

For each `/api/...` request: request id, preflight, path and CSRF checks, then the session and
rate limits (gateway.gate: from memory, or one Redis round trip), then the request goes to the
service over a pooled keep-alive connection (gateway.upstream) with the body streamed, and the
answer streams back. Hop-by-hop headers are dropped both ways; a client's identity header is
never forwarded, only the one the gateway signs. Failures answer JSON: 401, 403, 404, 413,
429, 502 (malformed answer), 503 (service down), 504 (service too slow).
"""

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson
from redis.exceptions import RedisError
from starlette.types import Message, Receive, Scope, Send

from gateway.gate import Gate
from gateway.guards import OriginPolicy
from gateway.routing import API_PREFIX, Route, is_clean, route
from gateway.upstream import Response, UpstreamBroken, UpstreamPool, UpstreamUnavailable
from runtime.context import new_request_id
from runtime.identity import IDENTITY_HEADER, IdentitySigner
from runtime.sessions import SESSION_COOKIE

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"trailers", b"transfer-encoding", b"upgrade", b"proxy-connection",
})
# never forwarded from the client: we set these ourselves (or the client must not)
_DROP_REQUEST = HOP_BY_HOP | {
    b"host", IDENTITY_HEADER.lower().encode(), b"x-request-id", b"x-forwarded-for",
    b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-prefix", b"content-length",
    b"expect",  # uvicorn answered any 100-continue already; the body is read here
}
_DROP_RESPONSE = HOP_BY_HOP | {b"x-request-id", b"content-length", b"date", b"server"}
_IDENTITY = IDENTITY_HEADER.lower().encode()
_API_PREFIX = API_PREFIX.encode()
_SESSION_PREFIX = SESSION_COOKIE + "="
_BUFFER_LIMIT = 64 * 1024


@dataclass
class Incoming:
    """What the hot path reads from the request headers, in one pass."""

    request_id: str
    origin: str | None = None
    referer: str | None = None
    cookie: str | None = None
    content_length: int | None = None
    chunked: bool = False
    forwarded_for: str | None = None
    preflight_headers: bytes | None = None
    is_preflight: bool = False


class Proxy:
    def __init__(self, upstreams: dict[str, str], policy: OriginPolicy, signer: IdentitySigner,
                 max_body_bytes: int, trust_forwarded_for: bool) -> None:
        self.upstreams = {name: url.rstrip("/") for name, url in upstreams.items()}
        self.policy, self.signer = policy, signer
        self.max_body_bytes, self.trust_forwarded_for = max_body_bytes, trust_forwarded_for
        self.pools: dict[str, UpstreamPool] = {}
        self.gate: Gate | None = None

    def start(self, gate: Gate, pool_size: int, connect_timeout: float,
              read_timeout: float) -> None:
        self.gate = gate
        self.pools = {name: UpstreamPool(url, pool_size, connect_timeout, read_timeout)
                      for name, url in self.upstreams.items()}

    def stop(self) -> None:
        for pool in self.pools.values():
            pool.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = _read_headers(scope)
        cors = self.policy.cors_headers(incoming.origin)
        reply = _Replier(send, incoming.request_id, cors)
        method: str = scope["method"]
        if method == "OPTIONS" and incoming.is_preflight:
            await self._preflight(incoming, reply)
            return
        path: str = scope["path"]
        target = route(path, scope.get("raw_path", path.encode()).decode("latin-1"))
        if not is_clean(path):
            await reply.error(400, "bad_path", "the path has empty or dot segments")
            return
        if target is None:
            await reply.error(404, "not_found", "no such API route")
            return
        if not self.policy.csrf_ok(method, incoming.origin, incoming.referer):
            await reply.error(403, "cross_site_request", "this origin may not change data here")
            return
        await self._guarded(scope, receive, incoming, target, reply)

    async def _guarded(self, scope: Scope, receive: Receive, incoming: Incoming,
                       target: Route, reply: "_Replier") -> None:
        assert self.gate is not None
        session_id = _session_cookie(incoming.cookie)
        try:  # the gate bounds its Redis round trips with a deadline (TimeoutError)
            verdict = await self.gate.check(session_id, self._client_ip(scope, incoming))
        except (RedisError, TimeoutError) as exc:
            log.error("session store unavailable: %r", exc)
            await reply.error(503, "session_store_unavailable", "try again shortly")
            return
        if verdict.retry_after:
            await reply.error(429, "rate_limited", "too many requests",
                              retry_after=verdict.retry_after)
            return
        if not verdict.user_id and not target.public:
            await reply.error(401, "unauthenticated", "sign in first")
            return
        if incoming.content_length is not None and incoming.content_length > self.max_body_bytes:
            await reply.error(413, "body_too_large",
                              f"the request body is over {self.max_body_bytes} bytes")
            return
        await self._forward(scope, receive, incoming, target, verdict.user_id, reply)

    async def _forward(self, scope: Scope, receive: Receive, incoming: Incoming, target: Route,
                       user_id: str | None, reply: "_Replier") -> None:
        method: str = scope["method"]
        query: bytes = scope.get("query_string", b"")
        upstream_target = target.upstream_path.encode("latin-1")
        if query:
            upstream_target += b"?" + query
        headers = self._upstream_headers(scope, incoming, target, user_id)
        body = _BodyReader(receive, self.max_body_bytes)
        has_body = bool(incoming.content_length) or incoming.chunked
        try:
            response = await self.pools[target.service].request(
                method, upstream_target, headers, body.chunks() if has_body else None)
        except Exception as exc:  # each failure maps to one JSON answer
            await self._upstream_failed(exc, body, target, reply)
            return
        if target.ends_session and self.gate is not None:  # before the client hears of it
            self.gate.forget(_session_cookie(incoming.cookie))
        try:
            if body.too_large:
                await reply.error(413, "body_too_large",
                                  f"the request body is over {self.max_body_bytes} bytes")
                return
            await self._relay(response, method, reply)
        except TimeoutError:
            if reply.started:
                raise
            await reply.error(504, "upstream_timeout",
                              f"the {target.service} service took too long to answer")
        finally:
            response.release()

    async def _relay(self, response: Response, method: str, reply: "_Replier") -> None:
        headers = [(k.lower(), v) for k, v in response.headers
                   if k.lower() not in _DROP_RESPONSE]
        length = response.content_length
        if method == "HEAD" or response.status in (204, 304):
            await reply.start(response.status, headers, length)
            await reply.body(b"", more=False)
            return
        if length is not None and length <= _BUFFER_LIMIT:
            payload = await response.read()
            await reply.start(response.status, headers, len(payload))
            await reply.body(payload, more=False)
            return
        await reply.start(response.status, headers, length)
        async for chunk in response.chunks():
            await reply.body(chunk, more=True)
        await reply.body(b"", more=False)

    async def _upstream_failed(self, exc: Exception, body: "_BodyReader", target: Route,
                               reply: "_Replier") -> None:
        if body.too_large:
            await reply.error(413, "body_too_large",
                              f"the request body is over {self.max_body_bytes} bytes")
        elif isinstance(exc, TimeoutError):
            await reply.error(504, "upstream_timeout",
                              f"the {target.service} service took too long to answer")
        elif isinstance(exc, UpstreamUnavailable):
            await reply.error(503, "service_unavailable",
                              f"the {target.service} service is not reachable",
                              service=target.service)
        elif isinstance(exc, UpstreamBroken):
            log.warning("upstream %s failed: %r", target.service, exc)
            await reply.error(502, "bad_gateway", f"the {target.service} service failed")
        else:
            raise exc

    def _upstream_headers(self, scope: Scope, incoming: Incoming, target: Route,
                          user_id: str | None) -> list[tuple[bytes, bytes]]:
        keep_cookies = target.service == "auth"  # only auth_service needs them
        headers = [(name, value) for name, value in scope["headers"]
                   if name not in _DROP_REQUEST and (keep_cookies or name != b"cookie")]
        headers += (
            (b"x-request-id", incoming.request_id.encode()),
            (b"x-forwarded-for", self._client_ip(scope, incoming).encode()),
            (b"x-forwarded-proto", scope.get("scheme", "http").encode()),
            (b"x-forwarded-prefix", _API_PREFIX),  # for the links services return
        )
        if incoming.content_length is not None:
            headers.append((b"content-length", b"%d" % incoming.content_length))
        if user_id is not None:
            headers.append((_IDENTITY, self._identity(scope, incoming, target, user_id)))
        return headers

    def _identity(self, scope: Scope, incoming: Incoming, target: Route,
                  user_id: str) -> bytes:
        """A token for this one request: its service, method and the target exactly as the
        service receives it (the upstream's base path, then the forwarded path and query)."""
        upstream_target = target.upstream_path.encode("latin-1")
        query: bytes = scope.get("query_string", b"")
        if query:
            upstream_target += b"?" + query
        pool = self.pools.get(target.service)
        if pool is not None:
            upstream_target = pool.base_path + upstream_target
        session_id = _session_cookie(incoming.cookie) if target.service == "auth" else None
        return self.signer.sign(user_id, target.service, scope["method"], upstream_target,
                                session_id)

    def _client_ip(self, scope: Scope, incoming: Incoming) -> str:
        if self.trust_forwarded_for and incoming.forwarded_for:
            return incoming.forwarded_for.rsplit(",", 1)[-1].strip()
        client = scope.get("client")
        return client[0] if client else "unknown"

    async def _preflight(self, incoming: Incoming, reply: "_Replier") -> None:
        headers = self.policy.preflight_headers(incoming.origin, incoming.preflight_headers)
        if headers is None:
            await reply.error(403, "origin_not_allowed", "this origin may not call the API")
            return
        reply.cors = []
        await reply.start(204, headers, 0)
        await reply.body(b"", more=False)


def _read_headers(scope: Scope) -> Incoming:
    incoming = Incoming(request_id="")
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if 0 < len(candidate) <= 128 and candidate.isprintable():
                incoming.request_id = candidate
        elif name == b"origin":
            incoming.origin = value.decode("latin-1")
        elif name == b"referer":
            incoming.referer = value.decode("latin-1")
        elif name == b"cookie":
            incoming.cookie = value.decode("latin-1") if incoming.cookie is None else (
                incoming.cookie + "; " + value.decode("latin-1"))
        elif name == b"content-length":
            incoming.content_length = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            incoming.chunked = True
        elif name == b"x-forwarded-for":
            incoming.forwarded_for = value.decode("latin-1")
        elif name == b"access-control-request-method":
            incoming.is_preflight = True
        elif name == b"access-control-request-headers":
            incoming.preflight_headers = value
    if not incoming.request_id:
        incoming.request_id = new_request_id()
    return incoming


def _session_cookie(cookie: str | None) -> str | None:
    if not cookie or _SESSION_PREFIX not in cookie:
        return None
    for part in cookie.split(";"):
        part = part.strip()
        if part.startswith(_SESSION_PREFIX):
            value = part[len(_SESSION_PREFIX):].strip('"')
            return value if 0 < len(value) <= 128 else None
    return None


class _BodyTooLarge(Exception):
    pass


class _BodyReader:
    """Streams the client's body to the upstream, counting it against the limit."""

    def __init__(self, receive: Receive, max_bytes: int) -> None:
        self.receive, self.max_bytes = receive, max_bytes
        self.received, self.too_large = 0, False

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ConnectionResetError("client went away")
            chunk: bytes = message.get("body", b"")
            self.received += len(chunk)
            if self.received > self.max_bytes:
                self.too_large = True
                raise _BodyTooLarge
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return


class _Replier:
    """Sends the response, always with the request id and the CORS headers."""

    def __init__(self, send: Send, request_id: str, cors: list[tuple[bytes, bytes]]) -> None:
        self.send, self.request_id, self.cors = send, request_id.encode(), cors
        self.started = False

    async def start(self, status: int, headers: list[tuple[bytes, bytes]],
                    length: int | None) -> None:
        all_headers = [*headers, *self.cors, (b"x-request-id", self.request_id)]
        if length is not None:
            all_headers.append((b"content-length", str(length).encode()))
        message: Message = {"type": "http.response.start", "status": status,
                            "headers": all_headers}
        self.started = True
        await self.send(message)

    async def body(self, chunk: bytes, more: bool) -> None:
        await self.send({"type": "http.response.body", "body": chunk, "more_body": more})

    async def error(self, status: int, code: str, message: str, **details: object) -> None:
        payload = orjson.dumps({"error": {"code": code, "message": message, **details}})
        headers = [(b"content-type", b"application/json")]
        if "retry_after" in details:
            headers.append((b"retry-after", str(details["retry_after"]).encode()))
        await self.start(status, headers, len(payload))
        await self.body(payload, more=False)
