"""A local OpenID Connect issuer on 127.0.0.1 that signs real RS256 ID tokens.

Like Google it serves discovery, JWKS, an authorization endpoint (which signs in the user the
test chose, without a form) and a token endpoint that enforces client authentication,
single-use codes, the redirect URI and PKCE (S256). Knobs let a test make it misbehave the way
an attacker or a broken provider would: a token for another audience, signed with a key that
is not in its JWKS, or carrying another nonce.
"""

import base64
import hashlib
import secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import BasicAuth, web
from joserfc import jwt
from joserfc.jwk import RSAKey

KID = "test-key-1"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    claims: dict[str, Any]


@dataclass
class Misbehaviour:
    audience: str | None = None
    wrong_key: bool = False
    nonce: str | None = None
    expires_in: int = 300


@dataclass
class FakeIssuer:
    client_id: str = "test-client"
    client_secret: str = "test-secret"
    user: dict[str, Any] = field(default_factory=lambda: {"sub": "someone"})
    misbehave: Misbehaviour = field(default_factory=Misbehaviour)
    url: str = ""
    host: str = "127.0.0.1"  # another address for a stack in containers (tests/compose)
    codes: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0

    def __post_init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": KID})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": KID})
        self._runner: web.AppRunner | None = None

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def sign_in_as(self, sub: str, **claims: Any) -> None:
        self.user = {"sub": sub, **claims}
        self.misbehave = Misbehaviour()

    async def start(self) -> "FakeIssuer":
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind((self.host, 0))
        self.url = f"http://{self.host}:{sock.getsockname()[1]}"
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _discovery(self, _: web.Request) -> web.Response:
        return web.json_response({
            "issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                      "client_secret_post"],
        })

    async def _jwks(self, _: web.Request) -> web.Response:
        return web.json_response({"keys": [self.key.as_dict(private=False)]})

    async def _authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if (q.get("client_id") != self.client_id or q.get("response_type") != "code"
                or "openid" not in q.get("scope", "").split()
                or q.get("code_challenge_method") != "S256" or not q.get("state")):
            return web.json_response({"error": "invalid_request"}, status=400)
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(q["client_id"], q["redirect_uri"], q.get("nonce"),
                                 q.get("code_challenge"), dict(self.user))
        location = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]})
        raise web.HTTPFound(location)

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        client_id, secret = _client_credentials(request, form)
        if (client_id, secret) != (self.client_id, self.client_secret):
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = self.codes.pop(str(form.get("code", "")), None)  # single use
        if (grant is None or form.get("grant_type") != "authorization_code"
                or grant.redirect_uri != form.get("redirect_uri")
                or not _pkce_ok(grant.code_challenge, str(form.get("code_verifier", "")))):
            return web.json_response({"error": "invalid_grant"}, status=400)
        access_token = secrets.token_urlsafe(24)
        return web.json_response({"access_token": access_token, "token_type": "Bearer",
                                  "expires_in": 3600, "scope": "openid email profile",
                                  "id_token": self._id_token(grant)})

    def _id_token(self, grant: Grant) -> str:
        now = int(time.time())
        bad = self.misbehave
        claims = {**grant.claims, "iss": self.url, "aud": bad.audience or grant.client_id,
                  "iat": now, "exp": now + bad.expires_in}
        nonce = bad.nonce or grant.nonce
        if nonce:
            claims["nonce"] = nonce
        key = self.other_key if bad.wrong_key else self.key
        return jwt.encode({"alg": "RS256", "kid": KID}, claims, key)


def _client_credentials(request: web.Request, form: Any) -> tuple[str, str]:
    header = request.headers.get("Authorization")
    if header:
        auth = BasicAuth.decode(header)
        return auth.login, auth.password
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))


def _pkce_ok(challenge: str | None, verifier: str) -> bool:
    if not challenge or not verifier:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge
