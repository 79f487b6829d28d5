"""Internal identity: the gateway tells services who the caller is in a signed, expiring
header. Services trust nothing else; without a valid header they answer 401.

Token: ``v1.<user_id>.<expires_unix>.<signature>``, signature = HMAC-SHA256 over the first
three parts, base64url without padding.
"""

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from runtime.http import ApiError

IDENTITY_HEADER = "X-Internal-Identity"
_VERSION = "v1"


@dataclass(frozen=True)
class IdentitySigner:
    secret: str
    ttl_seconds: int = 60

    def _signature(self, message: str) -> str:
        digest = hmac.new(self.secret.encode(), message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, user_id: str, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self.ttl_seconds)
        message = f"{_VERSION}.{user_id}.{expires}"
        return f"{message}.{self._signature(message)}"

    def verify(self, token: str, now: float | None = None) -> str | None:
        """The user id the token names, or None when forged, malformed or expired."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != _VERSION or not parts[1]:
            return None
        message = ".".join(parts[:3])
        if not hmac.compare_digest(self._signature(message), parts[3]):
            return None
        try:
            expires = int(parts[2])
        except ValueError:
            return None
        if expires < (now if now is not None else time.time()):
            return None
        return parts[1]


async def current_user_id(request: Request) -> str:
    token = request.headers.get(IDENTITY_HEADER)
    signer: IdentitySigner = request.app.state.identity
    user_id = signer.verify(token) if token else None
    if user_id is None:
        raise ApiError(401, "unauthenticated", "a valid internal identity is required")
    return user_id


CurrentUser = Annotated[str, Depends(current_user_id)]
