"""auth_service's part of an account erasure, on its own (real PostgreSQL and Redis): what
confirms it, the fresh sign-in it needs, every session ended, the account's events turned
to tombstones and `AccountErased` recorded, and a new, empty account for the same person."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from auth_service.app import create_app
from auth_service.settings import AuthSettings
from auth_service.tables import event_tables
from contracts.auth_events import AccountErased
from contracts.erasure_events import TOMBSTONE_EVENT_TYPE, TOMBSTONE_PAYLOAD
from runtime.db import make_engine
from runtime.sessions import SessionStore
from tests.conftest import REDIS_URL, asgi_client


async def auth_client(service_env: dict[str, str],
                      max_age_minutes: float) -> AsyncIterator[httpx.AsyncClient]:
    settings = AuthSettings(**service_env, dev_login_enabled=True, cookie_secure=False,
                            oidc_client_id="", erasure_sign_in_max_age_minutes=max_age_minutes)
    async for client in asgi_client(create_app(settings), base_url="http://auth"):
        yield client


@pytest.fixture
async def auth(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async for client in auth_client(service_env, 10):
        yield client


async def signed_in(auth: httpx.AsyncClient, email: str) -> tuple[str, str]:
    """(user id, session id) of a development sign-in."""
    response = await auth.post("/auth/dev-login", json={"email": email, "name": "Erin Erased"})
    assert response.status_code == 200, response.text
    return response.json()["id"], response.cookies["rb_session"]


async def stream_of(database_url: str, user_id: str) -> list[Any]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            ev = event_tables.events
            return list((await conn.execute(select(ev).where(ev.c.stream_id == user_id)
                                            .order_by(ev.c.stream_version))).all())
    finally:
        await engine.dispose()


async def test_an_erasure_ends_every_session_and_signing_in_again_opens_a_new_account(
        auth: httpx.AsyncClient, database_url: str, as_user: Any) -> None:
    email = f"erin-{uuid.uuid4()}@example.com"
    user_id, first = await signed_in(auth, email)
    again, second = await signed_in(auth, email)
    assert again == user_id

    refused = await auth.request("DELETE", "/user/me", json={"confirm": "please"},
                                 headers=as_user(user_id, first))
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "erasure_not_confirmed"
    erased = await auth.request("DELETE", "/user/me", json={"confirm": email},
                                headers=as_user(user_id, first))
    assert erased.status_code == 202, erased.text
    erasure_id = erased.json()["erasure_id"]
    assert erased.json()["status_url"] == f"/auth/erasures/{erasure_id}"

    redis = Redis.from_url(REDIS_URL)
    try:
        sessions = SessionStore(redis)
        assert await sessions.resolve(first) is None and await sessions.resolve(second) is None
    finally:
        await redis.aclose()
    assert (await auth.get("/user/me", headers=as_user(user_id, second))).status_code == 401
    progress = (await auth.get(f"/auth/erasures/{erasure_id}")).json()
    # auth's part is done in the request; the other services' consumers report theirs when
    # they run (here, the apps of other test modules may)
    assert "auth_service" in [s["service"] for s in progress["services"] if s["completed_at"]]

    rows = await stream_of(database_url, user_id)
    assert [r.event_type for r in rows] == [TOMBSTONE_EVENT_TYPE] * 2 + [
        AccountErased.event_type]
    assert all(r.payload == TOMBSTONE_PAYLOAD for r in rows[:2])
    stored = str([tuple(r) for r in rows])
    assert email not in stored and "Erin" not in stored

    new_id, session = await signed_in(auth, email)
    assert new_id != user_id
    assert (await auth.get("/user/me", headers=as_user(new_id, session))).json()["email"] == email
    assert (await signed_in(auth, email))[0] == new_id  # and it stays the person's account


async def test_a_sign_in_older_than_the_limit_must_be_made_again(
        service_env: dict[str, str], as_user: Any) -> None:
    async for auth in auth_client(service_env, 0):
        user_id, session = await signed_in(auth, f"stale-{uuid.uuid4()}@example.com")
        response = await auth.request("DELETE", "/user/me",
                                      json={"confirm": "erase my account"},
                                      headers=as_user(user_id, session))
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "reauthentication_required"
        assert (await auth.get("/user/me", headers=as_user(user_id, session))).status_code == 200


async def test_an_unknown_erasure_is_404(auth: httpx.AsyncClient) -> None:
    response = await auth.get(f"/auth/erasures/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "erasure_not_found"
