"""Internal identity: the gateway tells a service who the caller is in a short-lived token
signed with the gateway's Ed25519 key. Services hold only the public key, so they can check
a token but never make one; without a valid token they answer 401.

A token is bound to one request: its claims name the user (`sub`), the service it is for
(`aud`), the HTTP method (`mth`), the request target as the service receives it, raw path
plus `?query` (`tgt`), the expiry in unix seconds (`exp`) and, for auth_service only, the
session the gateway resolved (`sid`). A token replayed at another service, path, query or
method, or after `exp`, is refused.

Format: ``v2.<base64url(JSON claims)>.<base64url(Ed25519 signature)>`` (no padding); the
signature covers ``v2.<base64url(JSON claims)>``. Keys in settings are base64url (no
padding) of the raw 32 bytes: `IDENTITY_SIGNING_KEY` (gateway only), `IDENTITY_PUBLIC_KEY`.

``python -m runtime.identity keygen`` prints a fresh key pair and an INTERNAL_SECRET.
"""

import base64
import binascii
import math
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey
from starlette.types import Scope

from runtime.http import ApiError

IDENTITY_HEADER = "X-Internal-Identity"
_HEADER = IDENTITY_HEADER.lower().encode()
_VERSION = b"v2."
_SCOPE_KEY = "rb.internal_identity"
AUDIENCES = frozenset({"auth", "resume", "compile", "ai", "live"})

# The development key pair: public knowledge (it is in this file), so production refuses it.
DEV_IDENTITY_SIGNING_KEY = "hW3ygspKbbx50M_0Ixwcw9j5Qhn3xSThEoWKoBL3BYA"
DEV_IDENTITY_PUBLIC_KEY = "wDgj5NnqlFXFMXvCjuKEhuZd3M_Fl3b8aGDQm26X2gQ"


def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64decode(data: bytes | str) -> bytes:
    raw = data.encode("ascii") if isinstance(data, str) else data
    return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))


def _key_bytes(value: str, variable: str) -> bytes:
    try:
        raw = _b64decode(value.strip())
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"{variable} must be base64url of 32 raw bytes "
                         "(make one with `python -m runtime.identity keygen`)")
    return raw


# Ed25519 by libsodium (PyNaCl): a check takes half the time of OpenSSL's through
# `cryptography` on these machines (53 against 104 µs), and every service request makes one.
def private_key(value: str, variable: str = "IDENTITY_SIGNING_KEY") -> SigningKey:
    return SigningKey(_key_bytes(value, variable))


def public_key(value: str, variable: str = "IDENTITY_PUBLIC_KEY") -> VerifyKey:
    return VerifyKey(_key_bytes(value, variable))


def public_half(signing_key: str) -> str:
    """The IDENTITY_PUBLIC_KEY value that goes with a signing key."""
    return _b64encode(bytes(private_key(signing_key).verify_key)).decode()


def request_target(scope: Scope) -> bytes:
    """Raw path plus `?query`, as the request line carried it."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return raw + b"?" + query if query else raw


@dataclass(frozen=True)
class Identity:
    user_id: str
    session_id: str | None = None


class IdentitySigner:
    """The gateway's half: signs one token per forwarded request."""

    def __init__(self, signing_key: str, ttl_seconds: int = 15) -> None:
        self._key, self.ttl_seconds = private_key(signing_key), ttl_seconds

    def sign(self, user_id: str, audience: str, method: str, target: bytes,
             session_id: str | None = None, now: float | None = None) -> bytes:
        claims: dict[str, Any] = {
            "sub": user_id, "aud": audience, "mth": method, "tgt": target.decode("latin-1"),
            "exp": int(now if now is not None else time.time()) + self.ttl_seconds}
        if session_id is not None:
            claims["sid"] = session_id
        message = _VERSION + _b64encode(orjson.dumps(claims))
        return message + b"." + _b64encode(self._key.sign(message).signature)


class IdentityVerifier:
    """A service's half: checks tokens made for it, with the public key only."""

    def __init__(self, public: str, audience: str) -> None:
        if audience not in AUDIENCES:
            raise ValueError(f"unknown identity audience {audience!r}")
        self._key, self.audience = public_key(public), audience

    def verify(self, token: bytes, method: str, target: bytes,
               now: float | None = None) -> Identity | None:
        """The identity the token names, or None when it is not valid for this request."""
        claims = self._claims(token)
        if (claims is None or claims.get("aud") != self.audience
                or claims.get("mth") != method
                or claims.get("tgt") != target.decode("latin-1")):
            return None
        expires, user_id, sid = claims.get("exp"), claims.get("sub"), claims.get("sid")
        if (not isinstance(expires, int)
                or expires < (now if now is not None else time.time())
                or not isinstance(user_id, str) or not user_id
                or not (sid is None or isinstance(sid, str))):
            return None
        return Identity(user_id, sid)

    def _claims(self, token: bytes) -> dict[str, Any] | None:
        message, _, signature = token.rpartition(b".")
        if not message.startswith(_VERSION):
            return None
        try:
            self._key.verify(message, _b64decode(signature))
            claims = orjson.loads(_b64decode(message[len(_VERSION):]))
        except (BadSignatureError, binascii.Error, ValueError):
            return None
        return claims if isinstance(claims, dict) else None

    def verify_scope(self, scope: Scope) -> Identity | None:
        """The identity of an ASGI request, or None without a valid token. Checked once per
        request (a verification costs ~55 µs): resume_service's cache shortcut and the
        route's dependency share the answer in the scope, which is the request's own (not
        in scope["state"]: some servers share that dict between requests)."""
        if _SCOPE_KEY not in scope:
            scope[_SCOPE_KEY] = next(
                (self.verify(value, scope["method"], request_target(scope))
                 for name, value in scope["headers"] if name == _HEADER), None)
        return scope[_SCOPE_KEY]  # type: ignore[no-any-return]


def _has_token(request: Request) -> bool:
    return IDENTITY_HEADER in request.headers


def _refused() -> ApiError:
    return ApiError(401, "unauthenticated", "a valid internal identity is required")


async def current_identity(request: Request) -> Identity:
    verifier: IdentityVerifier = request.app.state.identity
    identity = verifier.verify_scope(request.scope)
    if identity is None:
        raise _refused()
    return identity


async def current_user_id(request: Request) -> str:
    return (await current_identity(request)).user_id


async def optional_identity(request: Request) -> Identity | None:
    """None without a token (a public route, nobody signed in); a token must be valid."""
    return await current_identity(request) if _has_token(request) else None


async def current_session_id(
        identity: Annotated[Identity | None, Depends(optional_identity)]) -> str | None:
    """The session the gateway resolved for this request (auth_service only), if any."""
    return identity.session_id if identity else None


CurrentUser = Annotated[str, Depends(current_user_id)]
CurrentIdentity = Annotated[Identity, Depends(current_identity)]
CurrentSessionId = Annotated[str | None, Depends(current_session_id)]


def entropy_bits(value: str) -> float:
    """A simple Shannon estimate: length times the entropy of its character frequencies."""
    counts = Counter(value)
    return -sum(n * math.log2(n / len(value)) for n in counts.values())


def keygen() -> str:
    """Fresh values as env lines: the signing key goes to the gateway alone."""
    signing = _b64encode(bytes(SigningKey.generate())).decode()
    return (f"# gateway only:\nIDENTITY_SIGNING_KEY={signing}\n"
            f"# every service:\nIDENTITY_PUBLIC_KEY={public_half(signing)}\n"
            f"INTERNAL_SECRET={secrets.token_urlsafe(32)}\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["keygen"]:
        sys.exit("usage: python -m runtime.identity keygen")
    print(keygen(), end="")
