"""auth_service on its own: settings guards, the development sign-in, and what a sign-in and
a sign-out record (events through the outbox, the users read model)."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from auth_service.app import create_app
from auth_service.domain import DEV_ISSUER, user_id_for
from auth_service.settings import AuthSettings
from auth_service.tables import event_tables
from runtime.db import make_engine
from runtime.identity import keygen
from tests.conftest import asgi_client


def production_keys() -> dict[str, str]:
    """Generated INTERNAL_SECRET and IDENTITY_PUBLIC_KEY (placeholders are refused first)."""
    lines = [line.split("=", 1) for line in keygen().splitlines() if line[:1] != "#"]
    return {name.lower(): value for name, value in lines if name != "IDENTITY_SIGNING_KEY"}


def test_dev_login_is_refused_at_start_up_in_production() -> None:
    with pytest.raises(ValueError, match="DEV_LOGIN_ENABLED"):
        AuthSettings(environment="production", dev_login_enabled=True,
                     **production_keys(), oidc_client_id="c", oidc_client_secret="s")


def test_insecure_cookies_are_refused_in_production() -> None:
    with pytest.raises(ValueError, match="COOKIE_SECURE"):
        AuthSettings(environment="production", cookie_secure=False, dev_login_enabled=False,
                     **production_keys(), oidc_client_id="c", oidc_client_secret="s")


@pytest.fixture
async def dev_auth(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = AuthSettings(**service_env, dev_login_enabled=True, cookie_secure=False,
                            oidc_client_id="")
    async for client in asgi_client(create_app(settings), base_url="http://auth"):
        yield client


async def test_dev_login_is_absent_unless_enabled(service_env: dict[str, str]) -> None:
    settings = AuthSettings(**service_env, dev_login_enabled=False)
    async for client in asgi_client(create_app(settings), base_url="http://auth"):
        response = await client.post("/auth/dev-login", json={"email": "a@b.c"})
        assert response.status_code == 404


async def test_login_without_oidc_configured_is_503(dev_auth: httpx.AsyncClient) -> None:
    response = await dev_auth.get("/auth/login")
    assert response.status_code == 503


async def test_dev_login_records_the_sign_in_and_opens_a_session(
        dev_auth: httpx.AsyncClient, database_url: str, as_user: Any) -> None:
    email = f"dev-{uuid.uuid4()}@example.com"
    response = await dev_auth.post("/auth/dev-login", json={"email": email, "name": "Dev"},
                                   headers={"X-Request-ID": "req-dev-login"})
    assert response.status_code == 200
    user_id = response.json()["id"]
    assert user_id == user_id_for(DEV_ISSUER, email)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("rb_session=") and "HttpOnly" in cookie
    assert "Secure" not in cookie  # COOKIE_SECURE off for local HTTP

    me = await dev_auth.get("/user/me", headers=as_user(user_id))
    assert me.json()["email"] == email
    logout = await dev_auth.post("/auth/logout", headers=as_user(user_id))
    assert logout.status_code == 204

    engine = make_engine(database_url)
    async with engine.connect() as conn:
        ev = event_tables.events
        rows = (await conn.execute(select(ev.c.event_type, ev.c.metadata, ev.c.global_position)
                                   .where(ev.c.stream_id == user_id)
                                   .order_by(ev.c.stream_version))).all()
    await engine.dispose()
    assert [r.event_type for r in rows] == ["UserSignedIn", "UserSignedOut"]
    assert rows[0].metadata["correlation_id"] == "req-dev-login"


async def test_user_me_and_logout_need_the_internal_identity(
        dev_auth: httpx.AsyncClient) -> None:
    assert (await dev_auth.get("/user/me")).status_code == 401
    assert (await dev_auth.post("/auth/logout")).status_code == 401


async def test_user_me_of_a_user_that_does_not_exist_is_401(
        dev_auth: httpx.AsyncClient, as_user: Any) -> None:
    response = await dev_auth.get("/user/me", headers=as_user(f"nobody-{uuid.uuid4()}"))
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthenticated",
                                         "message": "the session's user no longer exists"}}
