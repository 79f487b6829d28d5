"""The web client (web/, built by Vite into web/dist) served at `/`, outside `/api`.

- `/assets/*`: Vite's content-hashed files, cached for a year as `immutable` (a new build
  names new files); an unknown one is a 404, never the page.
- any other path: a file of the build's root (the favicon) when there is one, else
  `index.html`, so a client route (`/resumes/<id>`) loads the app (SPA fallback). Both
  `no-cache` with an ETag: a browser asks again each time and gets a 304 while unchanged.
- every answer carries a strict Content-Security-Policy: scripts and styles only from this
  origin, no inline script, no `eval`, no framing of the app (the PDF preview frames
  `/api/compile/pdf/*`, same origin); plus `nosniff` and a same-origin referrer policy.
- no build (a fresh checkout before `make up`): 503 with a page naming the command.

A file is read once and kept while its size and modification time stay the same (a stat per
request, a handful of small files): a rebuild shows at once.
`/api` answers are not touched here.
"""

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.types import Receive, Scope, Send

ASSETS_PREFIX = "/assets/"
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; frame-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [(b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"cross-origin-opener-policy", b"same-origin")]
NOT_BUILT_PAGE = (b"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                  b"<title>Web client not built</title></head><body>"
                  b"<h1>The web client is not built</h1>"
                  b"<p>Run <code>make up</code> (or <code>npm run build -w web</code>) to build "
                  b"it into <code>web/dist</code>; the API is at <a href=\"/api/docs\">/api/docs"
                  b"</a>.</p></body></html>")


@dataclass(frozen=True)
class _Route:
    path_format: str  # what runtime.metrics.route_template reads


METRICS_ROUTE = _Route("/*")


class WebAssets:
    """ASGI app for the paths outside `/api`: the built client, or a 503 without a build."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist.resolve()
        self._kept: dict[Path, Entity] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = METRICS_ROUTE  # one metrics label for every path of the client
        if scope["method"] not in ("GET", "HEAD"):
            await _send(send, 405, [(b"allow", b"GET, HEAD")], b"", scope)
            return
        index = self.dist / "index.html"
        if not index.is_file():
            await _send(send, 503, [(b"content-type", b"text/html; charset=utf-8"),
                                    (b"retry-after", b"60"), (b"cache-control", b"no-store")],
                        NOT_BUILT_PAGE, scope)
            return
        path: str = scope["path"]
        found = self._file(path)
        if path.startswith(ASSETS_PREFIX):
            if found is None:
                await _send(send, 404, [(b"content-type", b"text/plain; charset=utf-8")],
                            b"not found", scope)
                return
            await self._send_file(scope, send, found, IMMUTABLE)
            return
        await self._send_file(scope, send, found or index, REVALIDATE)

    def _file(self, path: str) -> Path | None:
        """The build's file at `path`, or None (a directory, missing, or outside the build)."""
        relative = path.lstrip("/")
        if not relative or "\x00" in relative:
            return None
        candidate = (self.dist / relative).resolve()
        if not candidate.is_relative_to(self.dist) or not candidate.is_file():
            return None
        return candidate

    async def _send_file(self, scope: Scope, send: Send, file: Path, cache: bytes) -> None:
        entity = self._entity(file)
        headers = [(b"cache-control", cache), (b"etag", entity.etag)]
        if _header(scope, b"if-none-match") == entity.etag:
            await _send(send, 304, headers, b"", scope)
            return
        await _send(send, 200, [*headers, (b"content-type", entity.content_type)], entity.body,
                    scope)

    def _entity(self, file: Path) -> "Entity":
        """The file's bytes, kept while its size and modification time stay the same."""
        stat = file.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        kept = self._kept.get(file)
        if kept is None or kept.version != version:
            body = file.read_bytes()
            etag = b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind in ("application/javascript", "image/svg+xml"):
                kind += "; charset=utf-8"
            kept = self._kept[file] = Entity(version, body, etag, kind.encode())
        return kept


@dataclass(frozen=True)
class Entity:
    version: tuple[int, int]  # modification time (ns) and size of the file read
    body: bytes
    etag: bytes
    content_type: bytes


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key == name), None)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes,
                scope: Scope) -> None:
    length = [(b"content-length", str(len(body)).encode())] if status != 304 else []
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, *length, *SECURITY_HEADERS]})
    await send({"type": "http.response.body",
                "body": b"" if scope["method"] == "HEAD" else body})
