"""Sign-in with an OpenID Connect issuer through Authlib's Starlette client, configured by
discovery (`OIDC_SERVER_METADATA_URL`), so Google and a local test issuer work the same way.

Authorization code flow with state, nonce and PKCE (S256). The flow's secrets (PKCE
verifier, nonce, redirect URI) stay server-side in Redis under the state; the browser holds
only a signed marker of the state in a short-lived cookie, so a callback is accepted once,
from the browser that started it. The ID token's signature (issuer's JWKS), issuer, audience,
expiry and nonce are all checked before anyone is signed in.
"""

import logging
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from joserfc.errors import JoseError
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import RedirectResponse

from auth_service.domain import Profile
from auth_service.settings import AuthSettings
from runtime.http import ApiError

log = logging.getLogger(__name__)

PROVIDER = "oidc"
# Authlib 1.9 talks to the issuer with httpx2 (httpx's fork), whose errors are not httpx's
ISSUER_UNREACHABLE = (httpx.HTTPError, httpx2.HTTPError)


@dataclass
class RedisFlowCache:
    """The cache Authlib keeps login-flow data in (get/set/delete), in Redis."""

    redis: Redis
    prefix: str = "authflow:"

    async def get(self, key: str) -> bytes | str | None:
        value: bytes | str | None = await self.redis.get(self.prefix + key)
        return value

    async def set(self, key: str, value: str, expires: int | None = None) -> None:
        await self.redis.set(self.prefix + key, value, ex=expires)

    async def delete(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)


class OidcSignIn:
    def __init__(self, settings: AuthSettings, redis: Redis) -> None:
        self.settings = settings
        oauth = OAuth(cache=RedisFlowCache(redis))
        oauth.register(
            PROVIDER, client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=settings.oidc_server_metadata_url,
            client_kwargs={"scope": settings.oidc_scope, "code_challenge_method": "S256",
                           "timeout": settings.oidc_timeout_seconds})
        client = oauth.create_client(PROVIDER)
        assert isinstance(client, StarletteOAuth2App)
        client.framework.expires_in = settings.login_flow_seconds
        self.client = client

    async def redirect(self, request: Request) -> RedirectResponse:
        self._require_configured()
        try:
            response: RedirectResponse = await self.client.authorize_redirect(
                request, self.settings.oidc_redirect_uri)
        except ISSUER_UNREACHABLE as exc:
            raise _issuer_unreachable(exc) from exc
        return response

    async def complete(self, request: Request) -> Profile:
        """The profile of the user the callback signs in; 400 for anything not right."""
        self._require_configured()
        try:
            metadata = await self.client.load_server_metadata()
            token = await self.client.authorize_access_token(
                request, claims_options=self._claims_options(metadata))
        except MismatchingStateError as exc:
            raise ApiError(400, "sign_in_state_mismatch",
                           "this sign-in is unknown, expired or already used") from exc
        except (AuthlibBaseError, JoseError, ValueError, KeyError) as exc:
            log.warning("sign-in refused: %r", exc)
            raise ApiError(400, "sign_in_refused", "the identity provider's answer was "
                           "refused", reason=type(exc).__name__) from exc
        except ISSUER_UNREACHABLE as exc:
            raise _issuer_unreachable(exc) from exc
        return _profile(token.get("userinfo"))

    def _claims_options(self, metadata: dict[str, Any]) -> dict[str, Any]:
        return {"iss": {"essential": True, "values": [metadata["issuer"]]},
                "aud": {"essential": True, "value": self.settings.oidc_client_id},
                "exp": {"essential": True}, "nonce": {"essential": True},
                "sub": {"essential": True}}

    def _require_configured(self) -> None:
        if not self.settings.oidc_configured:
            raise ApiError(503, "sign_in_unavailable", "OpenID Connect is not configured")


def _profile(claims: Any) -> Profile:
    if not claims or not claims.get("sub"):
        raise ApiError(400, "sign_in_refused", "the identity provider sent no ID token",
                       reason="missing_id_token")
    return Profile(issuer=str(claims["iss"]), subject=str(claims["sub"]),
                   email=str(claims.get("email") or ""), name=str(claims.get("name") or ""),
                   picture=str(claims.get("picture") or ""))


def _issuer_unreachable(exc: Exception) -> ApiError:
    log.warning("identity provider unreachable: %r", exc)
    return ApiError(503, "identity_provider_unavailable", "the identity provider is unreachable",
                    retry_after=5)
