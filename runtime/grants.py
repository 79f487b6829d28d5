"""Grants: one service asking another, outside any user's request, to act for a user the
request names (resume_service asking compile_service for the PDF of a share it has just let a
visitor open). The gateway's identity tokens cannot serve: only the gateway can make them.

A grant is the request's JSON body signed with HMAC-SHA256 under a key derived from
INTERNAL_SECRET for one purpose; the body carries its expiry (`exp`, unix seconds). The
receiver checks the signature before it parses the body, then the expiry. A grant opens only
the routes of its purpose, and those routes are not reachable through the gateway."""

import hashlib
import hmac
import time
from typing import Any

import orjson

GRANT_HEADER = "X-Internal-Grant"
GRANT_SECONDS = 30


class InvalidGrant(Exception):
    pass


def _key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"grant:{purpose}".encode(), hashlib.sha256).digest()


def signed(secret: str, purpose: str, claims: dict[str, Any],
           seconds: float = GRANT_SECONDS) -> tuple[bytes, str]:
    """The body to send (the claims with their expiry) and its signature for GRANT_HEADER."""
    body = orjson.dumps({**claims, "exp": time.time() + seconds})
    return body, hmac.new(_key(secret, purpose), body, hashlib.sha256).hexdigest()


def verified(secret: str, purpose: str, body: bytes, signature: str | None) -> dict[str, Any]:
    """The claims of a grant whose signature and expiry hold; InvalidGrant otherwise."""
    expected = hmac.new(_key(secret, purpose), body, hashlib.sha256).hexdigest()
    if signature is None or not hmac.compare_digest(expected, signature):
        raise InvalidGrant("bad signature")
    claims = orjson.loads(body)
    if not isinstance(claims, dict) or not claims.get("exp", 0) > time.time():
        raise InvalidGrant("expired")
    return claims
