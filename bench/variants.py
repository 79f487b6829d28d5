"""The alternatives bench/protocol.py measures our own protocol code against, each an app
factory uvicorn can start (``bench.variants:<name>``) or a protocol class (``--http
bench.variants:<name>``). They are the kept libraries' own APIs, wired in place of our
piece and nothing else, so a same-run comparison isolates that piece."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from multidict import CIMultiDict
from yarl import URL

import gateway.proxy
from gateway.upstream import (
    IDLE_SECONDS,
    RESENDABLE,
    UpstreamBroken,
    UpstreamBusy,
    UpstreamTimeout,
    UpstreamUnavailable,
)

# -- resume_service/cached_reads.py: the plain FastAPI route with the same read cache ------


def resume_without_shortcut() -> Any:
    from resume_service.app import create_app
    from resume_service.cached_reads import CachedReadShortcut
    app = create_app()
    app.user_middleware = [m for m in app.user_middleware if m.cls is not CachedReadShortcut]
    return app


# -- gateway/upstream.py: aiohttp's ClientSession, httpx's AsyncClient -------------------


class _LibraryResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    content_length: int | None

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    def chunks(self) -> AsyncIterator[bytes]:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class AiohttpPool:
    """The forwarding pool's interface on one aiohttp ClientSession per service. For its cost
    only: it does not keep the edge's rules (aiohttp 3.14 hands an answer that arrived on an
    idle pooled connection to the next request on it; `_retry_connection`, private, is what
    stops it resending a PUT or DELETE)."""

    def __init__(self, base_url: str, max_connections: int, connect_timeout: float,
                 read_timeout: float, slot_timeout: float = 5.0) -> None:
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.base_path = parts.path.rstrip("/").encode()
        self.max_connections, self.slot_timeout = max_connections, slot_timeout
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout,
                                             sock_read=read_timeout)
        self._slots = asyncio.Semaphore(max_connections)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.max_connections,
                                             keepalive_timeout=IDLE_SECONDS)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self.timeout, auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
                cookie_jar=aiohttp.DummyCookieJar())
            self._session._retry_connection = False  # it would resend a PUT or DELETE
        return self._session

    async def request(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
                      body: bytes | None) -> "_AiohttpResponse":
        url = URL(self.origin + (self.base_path + target).decode("latin-1"), encoded=True)
        sent = CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in headers)
        await _take(self._slots, self.slot_timeout)
        try:
            for attempt in (1, 2):
                try:
                    answer = await self._client().request(
                        method, url, headers=sent, data=body, allow_redirects=False)
                    return _AiohttpResponse(self, answer)
                except aiohttp.ServerDisconnectedError as exc:
                    if method not in RESENDABLE or attempt == 2:
                        raise UpstreamUnavailable(str(exc)) from exc
                except aiohttp.ServerTimeoutError as exc:
                    raise UpstreamTimeout(str(exc)) from exc
                except (aiohttp.ClientConnectorError, aiohttp.ClientOSError) as exc:
                    raise UpstreamUnavailable(str(exc)) from exc
                except aiohttp.ClientResponseError as exc:
                    raise UpstreamBroken(str(exc)) from exc
            raise AssertionError("unreachable")
        except BaseException:
            self._slots.release()
            raise

    def close(self) -> None:
        if self._session is not None:
            asyncio.get_running_loop().create_task(self._session.close())


class _AiohttpResponse(_LibraryResponse):
    def __init__(self, pool: AiohttpPool, answer: aiohttp.ClientResponse) -> None:
        super().__init__(pool)
        self._answer = answer
        self.status = answer.status
        self.headers = list(answer.raw_headers)
        self.content_length = answer.content_length

    async def read(self) -> bytes:
        try:
            return await self._answer.read()
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamUnavailable(str(exc)) from exc

    async def chunks(self) -> AsyncIterator[bytes]:  # type: ignore[override]
        try:
            async for chunk in self._answer.content.iter_any():
                yield chunk
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamUnavailable(str(exc)) from exc

    def release(self) -> None:
        self._answer.release()
        self._pool._slots.release()


class HttpxPool:
    """The forwarding pool's interface on one httpx AsyncClient per service (its own pool
    bound and pool deadline: no semaphore of ours)."""

    def __init__(self, base_url: str, max_connections: int, connect_timeout: float,
                 read_timeout: float, slot_timeout: float = 5.0) -> None:
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.base_path = parts.path.rstrip("/").encode()
        self._client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections,
                                keepalive_expiry=IDLE_SECONDS),
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout,
                                  pool=slot_timeout),
            follow_redirects=False, trust_env=False)

    async def request(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
                      body: bytes | None) -> "_HttpxResponse":
        url = httpx.URL(self.origin).copy_with(raw_path=self.base_path + target)
        request = self._client.build_request(method, url, headers=headers, content=body)
        for name in ("accept", "accept-encoding", "user-agent", "connection"):
            if name not in {k.decode().lower() for k, _ in headers}:
                request.headers.pop(name, None)
        for attempt in (1, 2):
            try:
                return _HttpxResponse(self, await self._client.send(request, stream=True))
            except httpx.PoolTimeout as exc:
                raise UpstreamBusy(str(exc)) from exc
            except httpx.TimeoutException as exc:
                raise UpstreamTimeout(str(exc)) from exc
            except httpx.RemoteProtocolError as exc:
                if method not in RESENDABLE or attempt == 2:
                    raise UpstreamUnavailable(str(exc)) from exc
            except httpx.TransportError as exc:
                raise UpstreamUnavailable(str(exc)) from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        asyncio.get_running_loop().create_task(self._client.aclose())


class _HttpxResponse(_LibraryResponse):
    def __init__(self, pool: HttpxPool, answer: httpx.Response) -> None:
        super().__init__(pool)
        self._answer = answer
        self.status = answer.status_code
        self.headers = list(answer.headers.raw)
        length = answer.headers.get("content-length")
        self.content_length = int(length) if length and length.isdigit() else None

    async def chunks(self) -> AsyncIterator[bytes]:  # type: ignore[override]
        try:
            async for chunk in self._answer.aiter_raw():
                yield chunk
        except httpx.RemoteProtocolError as exc:
            raise UpstreamUnavailable(str(exc)) from exc

    def release(self) -> None:
        asyncio.get_running_loop().create_task(self._answer.aclose())


async def _take(slots: asyncio.Semaphore, seconds: float) -> None:
    if not slots.locked():
        await slots.acquire()
        return
    try:
        async with asyncio.timeout(seconds):
            await slots.acquire()
    except TimeoutError as exc:
        raise UpstreamBusy("no connection came free") from exc


def gateway_with_aiohttp() -> Any:
    gateway.proxy.UpstreamPool = AiohttpPool  # type: ignore[assignment,misc]
    from gateway.app import create_app
    return create_app()


def gateway_with_httpx() -> Any:
    gateway.proxy.UpstreamPool = HttpxPool  # type: ignore[assignment,misc]
    from gateway.app import create_app
    return create_app()
