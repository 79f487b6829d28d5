"""Cross-site rules of the public API.

CSRF: a request with an unsafe method must say where it comes from, by `Origin` (or, when a
browser leaves it out, `Referer`), and that origin must be allowed; anything else is refused
before it reaches a service. With the session cookie being `SameSite=Lax`, this closes the
remaining same-site and old-browser gaps.

CORS: the allowed origins may call with credentials; the answer names the origin (never `*`)
and varies on it.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PREFLIGHT_MAX_AGE = b"600"
ALLOWED_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"
DEFAULT_ALLOWED_HEADERS = b"Content-Type, If-Match, X-Request-ID"
EXPOSED_HEADERS = b"X-Request-ID, Retry-After, ETag, Content-Disposition"


def origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class OriginPolicy:
    allowed: frozenset[str]

    def csrf_ok(self, method: str, origin: str | None, referer: str | None) -> bool:
        if method in SAFE_METHODS:
            return True
        if origin is not None:
            return origin in self.allowed
        return referer is not None and origin_of(referer) in self.allowed

    def cors_headers(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        if origin is None or origin not in self.allowed:
            return [(b"vary", b"Origin")] if origin is not None else []
        return [(b"access-control-allow-origin", origin.encode()),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-expose-headers", EXPOSED_HEADERS),
                (b"vary", b"Origin")]

    def preflight_headers(self, origin: str | None,
                          requested_headers: bytes | None) -> list[tuple[bytes, bytes]] | None:
        """Headers answering a preflight, or None when the origin is not allowed."""
        if origin is None or origin not in self.allowed:
            return None
        return [*self.cors_headers(origin),
                (b"access-control-allow-methods", ALLOWED_METHODS),
                (b"access-control-allow-headers", requested_headers or DEFAULT_ALLOWED_HEADERS),
                (b"access-control-max-age", PREFLIGHT_MAX_AGE)]
