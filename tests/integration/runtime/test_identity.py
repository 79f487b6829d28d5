"""The internal identity token (runtime.identity): signed by the gateway alone, good for one
request at one service; the settings that refuse placeholder keys and secrets in production;
and the real services refusing tokens that are not theirs."""

import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from auth_service.app import create_app as create_auth
from auth_service.settings import AuthSettings
from compile_service.app import create_app as create_compile
from compile_service.settings import CompileSettings
from gateway.settings import GatewaySettings
from runtime.identity import (
    DEV_IDENTITY_PUBLIC_KEY,
    DEV_IDENTITY_SIGNING_KEY,
    IDENTITY_HEADER,
    IdentitySigner,
    IdentityVerifier,
    keygen,
)
from runtime.sessions import SessionStore
from runtime.settings import DEV_SECRET, KEY_PLACEHOLDER, SECRET_PLACEHOLDER, ServiceSettings
from tests.conftest import OTHER_KEY, REDIS_URL, asgi_client, token_for

ROOT = Path(__file__).resolve().parents[3]
SIGNER = IdentitySigner(DEV_IDENTITY_SIGNING_KEY, ttl_seconds=15)
RESUME = IdentityVerifier(DEV_IDENTITY_PUBLIC_KEY, "resume")
TARGET = b"/resume/all?limit=2"


def generated() -> dict[str, str]:
    """keygen's env lines as settings keyword arguments."""
    lines = [line for line in keygen().splitlines() if line and not line.startswith("#")]
    return {name.lower(): value for name, value in (line.split("=", 1) for line in lines)}


def production(**values: str) -> dict[str, Any]:
    return {"_env_file": None, "environment": "production", **values}


# -- the token ----------------------------------------------------------------------------

def test_a_token_verifies_for_its_own_request_only() -> None:
    token = SIGNER.sign("user-1", "resume", "GET", TARGET, session_id="s-1")
    identity = RESUME.verify(token, "GET", TARGET)
    assert identity is not None and identity.user_id == "user-1" and identity.session_id == "s-1"
    assert RESUME.verify(token, "POST", TARGET) is None
    assert RESUME.verify(token, "GET", b"/resume/all") is None
    assert RESUME.verify(token, "GET", b"/resume/all?limit=3") is None
    assert RESUME.verify(token, "GET", b"/resume/other?limit=2") is None
    assert IdentityVerifier(DEV_IDENTITY_PUBLIC_KEY, "compile").verify(token, "GET",
                                                                       TARGET) is None


def test_an_expired_token_is_refused() -> None:
    token = SIGNER.sign("user-1", "resume", "GET", TARGET, now=1000.0)
    assert RESUME.verify(token, "GET", TARGET, now=1000.0 + 14) is not None
    assert RESUME.verify(token, "GET", TARGET, now=1000.0 + 16) is None


def test_forged_tampered_and_malformed_tokens_are_refused() -> None:
    forged = IdentitySigner(OTHER_KEY).sign("user-1", "resume", "GET", TARGET)
    assert RESUME.verify(forged, "GET", TARGET) is None
    good = SIGNER.sign("user-1", "resume", "GET", TARGET)
    claims, signature = good.split(b".")[1:]
    other = SIGNER.sign("user-2", "resume", "GET", TARGET).split(b".")[1]
    assert RESUME.verify(b"v2." + other + b"." + signature, "GET", TARGET) is None
    assert RESUME.verify(b"v1." + claims + b"." + signature, "GET", TARGET) is None
    for junk in (b"", b"garbage", b"v2.", b"v2..", b"v2.e30.", b"v2.!!!.???", good[:-3],
                 b"v1.user-1.9999999999.c2ln"):
        assert RESUME.verify(junk, "GET", TARGET) is None, junk


def test_a_service_holds_no_signing_key() -> None:
    for settings in (ServiceSettings, AuthSettings, CompileSettings):
        assert not any("signing" in name for name in settings.model_fields)
    verifier = IdentityVerifier(DEV_IDENTITY_PUBLIC_KEY, "resume")
    assert not hasattr(verifier, "sign")
    assert "Private" not in " ".join(type(v).__name__ for v in vars(verifier).values())


def test_sign_and_verify_stay_cheap() -> None:
    started = time.perf_counter()
    for _ in range(200):
        assert RESUME.verify(SIGNER.sign("user-1", "resume", "GET", TARGET), "GET", TARGET)
    assert (time.perf_counter() - started) / 200 < 0.005  # ~0.15 ms on a slow core


# -- settings -----------------------------------------------------------------------------

def test_production_accepts_generated_values() -> None:
    values = generated()
    GatewaySettings(**production(**values))
    ServiceSettings(**production(internal_secret=values["internal_secret"],
                                 identity_public_key=values["identity_public_key"]))


@pytest.mark.parametrize("variable, value", [
    ("internal_secret", DEV_SECRET),
    ("internal_secret", "change-me-to-a-long-random-secret-value"),
    ("identity_public_key", DEV_IDENTITY_PUBLIC_KEY),
    ("identity_signing_key", DEV_IDENTITY_SIGNING_KEY),
])
def test_production_refuses_each_published_value(variable: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"{variable.upper()} is a known placeholder"):
        GatewaySettings(**production(**{**generated(), variable: value}))


@pytest.mark.parametrize("secret", [
    "short-but-random-Xk29", "a" * 64, "abcdabcdabcdabcdabcdabcdabcdabcdabcd",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbb",
])
def test_production_refuses_a_guessable_internal_secret(secret: str) -> None:
    with pytest.raises(ValueError, match="INTERNAL_SECRET is too guessable"):
        ServiceSettings(**production(internal_secret=secret,
                                     identity_public_key=generated()["identity_public_key"]))


def env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    return {name.lower(): value for name, value in (line.split("=", 1) for line in lines)}


@pytest.mark.parametrize("variable", ["internal_secret", "identity_public_key",
                                      "identity_signing_key"])
def test_the_shipped_placeholders_are_refused_in_production(variable: str) -> None:
    # .env.example ships the only published values now (deploy/compose/env.sh writes the
    # compose stack's, fresh); the placeholders deploy/ once shipped stay refused
    once_shipped = {"internal_secret": SECRET_PLACEHOLDER, "identity_public_key": KEY_PLACEHOLDER,
                    "identity_signing_key": KEY_PLACEHOLDER}
    for value in (env_file(ROOT / ".env.example")[variable], once_shipped[variable]):
        values = {**generated(), variable: value}
        with pytest.raises(ValueError, match=variable.upper()):
            GatewaySettings(**production(**values))


def test_malformed_or_mismatched_keys_are_refused_everywhere() -> None:
    with pytest.raises(ValueError, match="IDENTITY_PUBLIC_KEY must be base64url"):
        ServiceSettings(_env_file=None, identity_public_key="not-a-key")
    with pytest.raises(ValueError, match="not one key pair"):
        GatewaySettings(_env_file=None, identity_signing_key=OTHER_KEY)


def test_keygen_prints_env_lines_production_accepts() -> None:
    result = subprocess.run([sys.executable, "-m", "runtime.identity", "keygen"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    values = {name.lower(): value for name, value in (
        line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)}
    assert set(values) == {"identity_signing_key", "identity_public_key", "internal_secret"}
    GatewaySettings(**production(**values))


# -- the real services --------------------------------------------------------------------

@pytest.fixture(scope="module")
async def compile_api(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
                      ) -> AsyncIterator[httpx.AsyncClient]:
    root = tmp_path_factory.mktemp("identity-compile")
    settings = CompileSettings(**service_env, artifacts_dir=str(root / "artifacts"),
                               compile_work_dir=str(root / "work"), job_worker_in_app=False)
    async for client in asgi_client(create_compile(settings), base_url="http://compile"):
        yield client


async def test_a_token_for_resume_service_is_refused_by_compile_service(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, user_id: str) -> None:
    for_resume = token_for("resume", "GET", "/compile/templates", user_id)
    refused = await compile_api.get("/compile/templates", headers={IDENTITY_HEADER: for_resume})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    for_compile = token_for("compile", "GET", "/compile/templates", user_id)
    ok = await compile_api.get("/compile/templates", headers={IDENTITY_HEADER: for_compile})
    assert ok.status_code == 200


async def test_a_token_replayed_on_another_path_method_or_query_is_refused(
        resume_api: httpx.AsyncClient, user_id: str) -> None:
    token = {IDENTITY_HEADER: token_for("resume", "GET", "/resume/all", user_id)}
    assert (await resume_api.get("/resume/all", headers=token)).status_code == 200
    assert (await resume_api.get("/resume/all?x=1", headers=token)).status_code == 401
    assert (await resume_api.get(f"/resume/{uuid.uuid4()}", headers=token)).status_code == 401
    create = await resume_api.post("/resume/create", json={"title": "t"}, headers=token)
    assert create.status_code == 401


async def test_expired_forged_and_malformed_tokens_are_refused_by_a_service(
        resume_api: httpx.AsyncClient, user_id: str) -> None:
    expired = token_for("resume", "GET", "/resume/all", user_id, now=time.time() - 7200)
    forged = IdentitySigner(OTHER_KEY).sign(user_id, "resume", "GET", b"/resume/all").decode()
    for token in (expired, forged, "v2.bm9wZQ.bm9wZQ", "garbage"):
        response = await resume_api.get("/resume/all", headers={IDENTITY_HEADER: token})
        assert response.status_code == 401, token


@pytest.fixture
async def auth_api(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = AuthSettings(**service_env, dev_login_enabled=True, cookie_secure=False)
    async for client in asgi_client(create_auth(settings), base_url="http://auth"):
        yield client


async def dev_login(auth_api: httpx.AsyncClient, headers: dict[str, str] | None = None,
                    email: str | None = None) -> tuple[str, str]:
    response = await auth_api.post("/auth/dev-login", headers=headers or {},
                                   json={"email": email or f"{uuid.uuid4()}@example.com"})
    assert response.status_code == 200, response.text
    auth_api.cookies.clear()
    return response.json()["id"], response.cookies["rb_session"]


async def test_logout_ends_the_session_the_token_names_not_the_cookie(
        auth_api: httpx.AsyncClient, as_user: Any) -> None:
    sessions = SessionStore(Redis.from_url(REDIS_URL))
    try:
        user, named = await dev_login(auth_api)
        _, other = await dev_login(auth_api)
        response = await auth_api.post("/auth/logout", headers={
            **as_user(user, named), "Cookie": f"rb_session={other}"})
        assert response.status_code == 204
        assert await sessions.resolve(named) is None
        assert await sessions.resolve(other) is not None
    finally:
        await sessions.redis.aclose()


async def test_sign_in_replaces_the_session_of_a_valid_token_only(
        auth_api: httpx.AsyncClient, as_user: Any) -> None:
    sessions = SessionStore(Redis.from_url(REDIS_URL))
    try:
        email = f"{uuid.uuid4()}@example.com"
        user, first = await dev_login(auth_api, email=email)
        forged = IdentitySigner(OTHER_KEY).sign(user, "auth", "POST", b"/auth/dev-login", first)
        refused = await auth_api.post("/auth/dev-login", json={"email": email},
                                      headers={IDENTITY_HEADER: forged.decode()})
        assert refused.status_code == 401
        assert await sessions.resolve(first) is not None
        _, second = await dev_login(auth_api, as_user(user, first), email=email)
        assert await sessions.resolve(first) is None and await sessions.resolve(second)
    finally:
        await sessions.redis.aclose()
