"""Fixtures shared by every test: the real PostgreSQL, Redis and RabbitMQ named by the
environment (defaults: the local services), a migrated test database, signed identities.
Nothing here touches a server until a test asks for a fixture that needs one, so
`pytest tests/unit` runs with every server unreachable.

`as_user(user_id)` gives headers with a marker, not a token: a token is bound to one request
(service, method, target), so the in-process clients of `asgi_client` swap the marker for a
token signed for the very request they send."""

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from ops.migrate import upgrade_all
from runtime.db import asyncpg_dsn
from runtime.identity import AUDIENCES, DEV_IDENTITY_SIGNING_KEY, IDENTITY_HEADER, IdentitySigner
from runtime.settings import DEV_SECRET
from tests.integration.runtime.broker_control import rabbitmqctl

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
# A database of its own for each test session (dropped at its end), so a run never sees
# the leftovers or the migration state of another; TEST_DATABASE_URL pins one instead.
TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", f"{POSTGRES_URL}/rb_test_{os.getpid()}_{uuid.uuid4().hex[:6]}")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# Likewise a RabbitMQ vhost of its own: every session declares the same queue names, and a
# worker of one session must never take another's messages. AMQP_URL pins one instead.
TEST_VHOST = None if "AMQP_URL" in os.environ else f"rb_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
AMQP_URL = os.environ.get("AMQP_URL", f"amqp://guest:guest@127.0.0.1:5672/{TEST_VHOST}")


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """The session's RabbitMQ vhost, made on first use and deleted at the end."""
    if TEST_VHOST:
        rabbitmqctl("add_vhost", TEST_VHOST)
        rabbitmqctl("set_permissions", "-p", TEST_VHOST, "guest", ".*", ".*", ".*")
    yield AMQP_URL
    if TEST_VHOST:
        rabbitmqctl("delete_vhost", TEST_VHOST)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    upgrade_all(TEST_DATABASE_URL)
    yield TEST_DATABASE_URL
    if "TEST_DATABASE_URL" not in os.environ:
        asyncio.run(drop_database(TEST_DATABASE_URL))


async def drop_database(url: str) -> None:
    base, name = asyncpg_dsn(url).rsplit("/", 1)
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def service_env(database_url: str, amqp_url: str) -> dict[str, str]:
    """Settings every service under test shares."""
    return {"database_url": database_url, "redis_url": REDIS_URL, "amqp_url": amqp_url,
            "environment": "test", "internal_secret": DEV_SECRET}


# signs as the gateway does, with the development key every test service trusts
TEST_SIGNER = IdentitySigner(DEV_IDENTITY_SIGNING_KEY, ttl_seconds=3600)
_AS_USER = "as-user:"
OTHER_KEY = "Lq7dY2-_wXMuVVOhN9QwUY9q0-hG1x3uj3AqjVbWq3Y"  # a signing key no service trusts


@pytest.fixture
def user_id() -> str:
    return f"user-{uuid.uuid4()}"


def identity_headers(user_id: str, session_id: str | None = None) -> dict[str, str]:
    """A marker that `asgi_client` turns into a token for the request it is sent with."""
    return {IDENTITY_HEADER: _AS_USER + json.dumps([user_id, session_id])}


@pytest.fixture
def as_user():  # type: ignore[no-untyped-def]
    """as_user(user_id, session_id=None) -> headers that authenticate the request as that
    user (with `sid` = session_id, as the gateway sends to auth_service)."""
    return identity_headers


def token_for(audience: str, method: str, target: bytes | str, user_id: str,
              session_id: str | None = None, now: float | None = None) -> str:
    raw = target.encode() if isinstance(target, str) else target
    return TEST_SIGNER.sign(user_id, audience, method, raw, session_id, now).decode()


def signing_hook(audience: str | None) -> Callable[[httpx.Request], Awaitable[None]]:
    """httpx request hook: the `as_user` marker becomes a token for this request."""
    async def sign(request: httpx.Request) -> None:
        marker = request.headers.get(IDENTITY_HEADER, "")
        if not marker.startswith(_AS_USER):
            return
        if audience is None:
            raise ValueError("as_user needs a client whose audience is known (asgi_client's "
                             "base_url host: auth, resume, compile or ai)")
        user, sid = json.loads(marker[len(_AS_USER):])
        request.headers[IDENTITY_HEADER] = token_for(audience, request.method,
                                                     request.url.raw_path, user, sid)
    return sign


async def asgi_client(app, base_url: str = "http://service",  # type: ignore[no-untyped-def]
                      audience: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of `app`; tokens from `as_user` are for `audience`, by default
    the host of `base_url` (http://resume: resume_service)."""
    audience = audience or urlsplit(base_url).hostname
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, event_hooks={
                "request": [signing_hook(audience if audience in AUDIENCES else None)]},
        ) as client:
            yield client


async def purge_queue(name: str) -> None:
    """Empty a queue if it exists (messages left by an earlier, interrupted run)."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        await queue.purge()
    except aio_pika.exceptions.ChannelClosed:
        pass
    finally:
        await connection.close()


async def wait_for_queue(name: str, timeout: float = 15.0) -> None:
    """Wait until a queue is declared (an app under test has connected to the broker)."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        for _ in range(int(timeout / 0.1)):
            try:
                channel = await connection.channel()
                await channel.declare_queue(name, passive=True)
                return
            except aio_pika.exceptions.ChannelClosed:
                await asyncio.sleep(0.1)
    finally:
        await connection.close()
    raise TimeoutError(f"queue {name} was never declared")


@pytest.fixture(scope="session")
async def resume_api(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """resume_service's real app (relay included), in-process, for the whole session."""
    from resume_service.app import create_app
    from resume_service.settings import ResumeSettings

    app = create_app(ResumeSettings.model_validate(service_env))
    async for client in asgi_client(app, base_url="http://resume"):
        yield client
