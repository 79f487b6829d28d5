"""The forwarding hot path, as a plain ASGI handler (no framework on the way: every
microsecond here is paid by every API call).

For each `/api/...` request: request id, framing, preflight, path and CSRF checks, then the
session and rate limits (gateway.gate: from memory, or one Redis round trip), then the
request body is read whole (at most the body limit, within a deadline) before the request
asks for a pooled keep-alive connection to the service (gateway.upstream): a client that
sends its body slowly, or never, holds no connection of the pool and is answered 408. The
answer streams back; an event stream (gateway.routing.STREAM_PATHS) is held against a cap of
its own and relayed chunk by chunk until either side ends it. Hop-by-hop headers are dropped
both ways; a client's identity header and forwarding headers are never forwarded, only the
ones the gateway sets. Failures answer JSON: 400, 401, 403, 404, 408, 413, 429, 502
(malformed answer, or one naming an internal address), 503 (service down or busy, with
Retry-After), 504 (service too slow).
"""

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
from redis.exceptions import RedisError
from starlette.types import Message, Receive, Scope, Send

from contracts.share_events import UNLOCK_COOKIE
from gateway.addresses import ClientAddresses, bucket_of
from gateway.gate import Gate
from gateway.guards import OriginPolicy
from gateway.long_polls import LongPollCaps, waits
from gateway.routing import API_PREFIX, Route, is_clean, route
from gateway.upstream import (
    Response,
    UpstreamBroken,
    UpstreamBusy,
    UpstreamPool,
    UpstreamUnavailable,
)
from runtime.context import new_request_id
from runtime.identity import IDENTITY_HEADER, IdentitySigner

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"trailers", b"transfer-encoding", b"upgrade", b"proxy-connection",
})
# never forwarded from the client: we set these ourselves (or the client must not)
_DROP_REQUEST = HOP_BY_HOP | {
    b"host", IDENTITY_HEADER.lower().encode(), b"x-request-id", b"x-forwarded-for",
    b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port", b"x-forwarded-prefix",
    b"forwarded", b"x-real-ip", b"content-length",
    b"expect",  # uvicorn answered any 100-continue already; the body is read here
}
_DROP_RESPONSE = HOP_BY_HOP | {b"x-request-id", b"content-length", b"date", b"server"}
_IDENTITY = IDENTITY_HEADER.lower().encode()
_API_PREFIX = API_PREFIX.encode()
_BUFFER_LIMIT = 64 * 1024
_RETRY_SECONDS = 1  # Retry-After of a 503: the gateway's own dependencies recover fast


@dataclass
class Incoming:
    """What the hot path reads from the request headers, in one pass."""

    request_id: str
    origin: str | None = None
    referer: str | None = None
    cookie: str | None = None
    content_length: int | None = None
    chunked: bool = False
    bad_framing: str | None = None  # why the body's framing cannot be trusted
    forwarded_for: str | None = None
    preflight_headers: bytes | None = None
    is_preflight: bool = False
    session_id: str | None = None
    session_cookies: int = 0


@dataclass(frozen=True)
class EdgeRules:
    """What the gateway holds a client to before anything reaches a service."""

    max_body_bytes: int
    body_timeout_seconds: float
    session_cookie: str
    addresses: ClientAddresses
    long_polls: LongPollCaps
    max_upload_bytes: int  # of the upload paths (gateway.routing.UPLOAD_PATHS)
    event_streams: LongPollCaps  # open streams of gateway.routing.STREAM_PATHS

    def held_cap(self, target: Route, query: bytes) -> "tuple[LongPollCaps, str] | None":
        """The cap a request is held against while it lasts, with the code of its 429."""
        if target.stream:
            return self.event_streams, "too_many_event_streams"
        if target.long_poll and waits(query):
            return self.long_polls, "too_many_long_polls"
        return None

    def body_limit(self, target: Route) -> int:
        return self.max_upload_bytes if target.upload else self.max_body_bytes


class Proxy:
    def __init__(self, upstreams: dict[str, str], policy: OriginPolicy, signer: IdentitySigner,
                 rules: EdgeRules) -> None:
        self.upstreams = {name: url.rstrip("/") for name, url in upstreams.items()}
        self.policy, self.signer, self.rules = policy, signer, rules
        self.internal_hosts = frozenset(urlsplit(url).netloc.lower().encode()
                                        for url in self.upstreams.values())
        self.pools: dict[str, UpstreamPool] = {}
        self.gate: Gate | None = None

    def start(self, gate: Gate, pool_sizes: dict[str, int], connect_timeout: float,
              read_timeout: float, slot_timeout: float) -> None:
        self.gate = gate
        self.pools = {name: UpstreamPool(url, pool_sizes[name], connect_timeout, read_timeout,
                                         slot_timeout)
                      for name, url in self.upstreams.items()}

    def stop(self) -> None:
        for pool in self.pools.values():
            pool.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = _read_headers(scope, self.rules.session_cookie)
        cors = self.policy.cors_headers(incoming.origin)
        reply = _Replier(send, incoming.request_id, cors)
        if incoming.bad_framing:
            await reply.error(400, "bad_request", incoming.bad_framing, close=True)
            return
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
        if incoming.session_cookies > 1:
            await reply.error(400, "duplicate_session_cookie",
                              "the request carries more than one session cookie; clear this "
                              "site's cookies and sign in again")
            return
        await self._guarded(scope, receive, incoming, target, reply)

    async def _guarded(self, scope: Scope, receive: Receive, incoming: Incoming,
                       target: Route, reply: "_Replier") -> None:
        assert self.gate is not None
        client = self._client_address(scope, incoming)
        bucket = bucket_of(client)
        try:  # the gate bounds its Redis round trips with a deadline (TimeoutError)
            verdict = await self.gate.check(incoming.session_id, bucket)
        except (RedisError, TimeoutError) as exc:
            log.error("session store unavailable: %r", exc)
            await reply.error(503, "session_store_unavailable", "try again shortly",
                              retry_after=_RETRY_SECONDS)
            return
        if verdict.retry_after:
            await reply.error(429, "rate_limited", "too many requests",
                              retry_after=verdict.retry_after)
            return
        if not verdict.user_id and not target.public:
            await reply.error(401, "unauthenticated", "sign in first")
            return
        limit = self.rules.body_limit(target)
        if incoming.content_length is not None and incoming.content_length > limit:
            await reply.too_large(limit)
            return
        try:
            body = await self._read_body(receive, incoming, reply, limit)
        except _Answered:
            return
        held = self.rules.held_cap(target, scope.get("query_string", b""))
        if held is None:
            await self._forward(scope, incoming, target, verdict.user_id, client, body, reply)
            return
        caps, code = held
        with caps.holding(incoming.session_id or "", bucket) as allowed:
            if not allowed:
                await reply.error(429, code,
                                  "too many requests are held open at once; end one first",
                                  retry_after=_RETRY_SECONDS)
                return
            forwarding = self._forward(scope, incoming, target, verdict.user_id, client, body,
                                       reply)
            if target.stream:
                await _until_disconnected(forwarding, receive)
            else:
                await forwarding

    async def _read_body(self, receive: Receive, incoming: Incoming,
                         reply: "_Replier", limit: int) -> bytes | None:
        """The whole body (None without one); raises _Answered once the client was answered
        (too large, too slow) or went away."""
        if not incoming.content_length and not incoming.chunked:
            return b"" if incoming.content_length == 0 else None
        parts: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.rules.body_timeout_seconds):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise _Answered
                    chunk: bytes = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        await reply.too_large(limit)
                        raise _Answered
                    parts.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await reply.error(408, "request_timeout",
                              f"the request body did not arrive within "
                              f"{self.rules.body_timeout_seconds:g} s", close=True)
            raise _Answered from None
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def _forward(self, scope: Scope, incoming: Incoming, target: Route,
                       user_id: str | None, client: str, body: bytes | None,
                       reply: "_Replier") -> None:
        method: str = scope["method"]
        query: bytes = scope.get("query_string", b"")
        upstream_target = target.upstream_path.encode("latin-1")
        if query:
            upstream_target += b"?" + query
        headers = self._upstream_headers(scope, incoming, target, upstream_target, user_id,
                                         client)
        try:
            response = await self.pools[target.service].request(
                method, upstream_target, headers, body)
        except Exception as exc:  # each failure maps to one JSON answer
            await self._upstream_failed(exc, target, reply)
            return
        if target.ends_session and self.gate is not None:  # before the client hears of it
            self.gate.forget(incoming.session_id)
        try:
            await self._relay(response, method, target, reply)
        except TimeoutError:
            if reply.started:
                raise
            await reply.error(504, "upstream_timeout",
                              f"the {target.service} service took too long to answer")
        finally:
            response.release()

    async def _relay(self, response: Response, method: str, target: Route,
                     reply: "_Replier") -> None:
        headers = [(k.lower(), v) for k, v in response.headers
                   if k.lower() not in _DROP_RESPONSE]
        if any(name == b"location" and self._internal(value) for name, value in headers):
            log.warning("the %s service answered with an internal address", target.service)
            await reply.error(502, "bad_gateway", f"the {target.service} service failed")
            return
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

    def _internal(self, location: bytes) -> bool:
        """Whether a Location points at a service behind the gateway."""
        parts = urlsplit(location.strip().decode("latin-1"))
        return bool(parts.netloc) and parts.netloc.lower().encode() in self.internal_hosts

    async def _upstream_failed(self, exc: Exception, target: Route, reply: "_Replier") -> None:
        if isinstance(exc, TimeoutError):
            await reply.error(504, "upstream_timeout",
                              f"the {target.service} service took too long to answer")
        elif isinstance(exc, UpstreamBusy):
            await reply.error(503, "service_busy",
                              f"the {target.service} service is busy; try again shortly",
                              service=target.service, retry_after=_RETRY_SECONDS)
        elif isinstance(exc, UpstreamUnavailable):
            await reply.error(503, "service_unavailable",
                              f"the {target.service} service is not reachable",
                              service=target.service, retry_after=_RETRY_SECONDS)
        elif isinstance(exc, UpstreamBroken):
            log.warning("upstream %s failed: %r", target.service, exc)
            await reply.error(502, "bad_gateway", f"the {target.service} service failed")
        else:
            raise exc

    def _upstream_headers(self, scope: Scope, incoming: Incoming, target: Route,
                          upstream_target: bytes, user_id: str | None,
                          client: str) -> list[tuple[bytes, bytes]]:
        keep_cookies = target.service == "auth"  # only auth_service needs them
        headers = [(name, value) for name, value in scope["headers"]
                   if name not in _DROP_REQUEST and (keep_cookies or name != b"cookie")]
        if target.public and not keep_cookies and incoming.cookie:
            headers += _share_cookie(incoming.cookie)  # a share link's unlock cookie only
        headers += (
            (b"x-request-id", incoming.request_id.encode()),
            (b"x-forwarded-for", client.encode()),
            (b"x-forwarded-proto", scope.get("scheme", "http").encode()),
            (b"x-forwarded-prefix", _API_PREFIX),  # for the links services return
        )
        if user_id is not None:
            headers.append((_IDENTITY, self._identity(scope["method"], target, upstream_target,
                                                      incoming, user_id)))
        return headers

    def _identity(self, method: str, target: Route, upstream_target: bytes,
                  incoming: Incoming, user_id: str) -> bytes:
        """A token for this one request: its service, method and the target exactly as the
        service receives it (the upstream's base path, then the forwarded path and query);
        auth_service also learns the session the gateway resolved (logout, sign-in)."""
        upstream_target = self.pools[target.service].base_path + upstream_target
        session_id = incoming.session_id if target.service == "auth" else None
        return self.signer.sign(user_id, target.service, method, upstream_target, session_id)

    def _client_address(self, scope: Scope, incoming: Incoming) -> str:
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        return self.rules.addresses.client_of(peer, incoming.forwarded_for)

    async def _preflight(self, incoming: Incoming, reply: "_Replier") -> None:
        headers = self.policy.preflight_headers(incoming.origin, incoming.preflight_headers)
        if headers is None:
            await reply.error(403, "origin_not_allowed", "this origin may not call the API")
            return
        reply.cors = []
        await reply.start(204, headers, 0)
        await reply.body(b"", more=False)


async def _until_disconnected(forwarding: Coroutine[None, None, None],
                              receive: Receive) -> None:
    """Relay a stream until it ends or the client goes away (uvicorn drops what is sent to
    a gone client without a word, so only `receive` tells): then the upstream connection is
    closed (an unfinished answer is never reused), which ends the stream there too."""
    relaying = asyncio.ensure_future(forwarding)
    watching = asyncio.ensure_future(_disconnect(receive))
    try:
        await asyncio.wait((relaying, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (relaying, watching):
            task.cancel()
        await asyncio.gather(relaying, watching, return_exceptions=True)
    if not relaying.cancelled() and (error := relaying.exception()) is not None:
        raise error


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _share_cookie(cookie: str) -> list[tuple[bytes, bytes]]:
    kept = [part.strip() for part in cookie.split(";")
            if part.strip().startswith(UNLOCK_COOKIE + "=")]
    return [(b"cookie", "; ".join(kept).encode("latin-1"))] if kept else []


def _read_headers(scope: Scope, session_cookie: str) -> Incoming:
    incoming = Incoming(request_id="")
    lengths: set[bytes] = set()
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
            lengths.add(value.strip(b" \t"))
        elif name == b"transfer-encoding":
            incoming.chunked = True
        elif name == b"x-forwarded-for":
            incoming.forwarded_for = value.decode("latin-1")
        elif name == b"access-control-request-method":
            incoming.is_preflight = True
        elif name == b"access-control-request-headers":
            incoming.preflight_headers = value
    if lengths:
        _read_length(incoming, lengths)
    if incoming.cookie:
        _read_session_cookie(incoming, session_cookie)
    if not incoming.request_id:
        incoming.request_id = new_request_id()
    return incoming


def _read_length(incoming: Incoming, lengths: set[bytes]) -> None:
    """Content-Length exactly as RFC 9112 has it (digits, after optional whitespace), once,
    and never beside Transfer-Encoding: anything else could frame the body two ways."""
    if len(lengths) > 1:
        incoming.bad_framing = "the request has conflicting Content-Length headers"
    elif incoming.chunked:
        incoming.bad_framing = "the request has both Content-Length and Transfer-Encoding"
    else:
        value = next(iter(lengths))
        if value.isdigit() and value.isascii() and len(value) <= 18:
            incoming.content_length = int(value)
        else:
            incoming.bad_framing = "the request's Content-Length is not a number"


def _read_session_cookie(incoming: Incoming, name: str) -> None:
    assert incoming.cookie is not None
    if name not in incoming.cookie:
        return
    for part in incoming.cookie.split(";"):
        key, _, value = part.partition("=")
        if key.strip() == name:
            incoming.session_cookies += 1
            value = value.strip().strip('"')
            incoming.session_id = value if 0 < len(value) <= 128 else None


class _Answered(Exception):
    """The client was answered (or went away) while its request was being read."""


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

    async def error(self, status: int, code: str, message: str, close: bool = False,
                    **details: object) -> None:
        """A JSON error; `close`: the connection ends after it (its framing is untrusted, or
        unread body bytes would follow)."""
        payload = orjson.dumps({"error": {"code": code, "message": message, **details}})
        headers = [(b"content-type", b"application/json")]
        if "retry_after" in details:
            headers.append((b"retry-after", str(details["retry_after"]).encode()))
        if close:
            headers.append((b"connection", b"close"))
        await self.start(status, headers, len(payload))
        await self.body(payload, more=False)

    async def too_large(self, max_bytes: int) -> None:
        await self.error(413, "body_too_large", f"the request body is over {max_bytes} bytes",
                         close=True)
