"""Fixtures shared by every test: the real PostgreSQL, Redis and RabbitMQ named by the
environment (defaults: the local services), a migrated test database, signed identities."""

import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from runtime.identity import IDENTITY_HEADER, IdentitySigner
from runtime.migrations import upgrade_all
from runtime.settings import DEV_SECRET

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/resumebuilder_test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture(scope="session")
def database_url() -> str:
    upgrade_all(TEST_DATABASE_URL)
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def service_env(database_url: str) -> dict[str, str]:
    """Settings every service under test shares."""
    return {"database_url": database_url, "redis_url": REDIS_URL, "amqp_url": AMQP_URL,
            "environment": "test", "internal_secret": DEV_SECRET}


@pytest.fixture(scope="session")
def signer() -> IdentitySigner:
    return IdentitySigner(DEV_SECRET, ttl_seconds=3600)


@pytest.fixture
def user_id() -> str:
    return f"user-{uuid.uuid4()}"


def identity_headers(signer: IdentitySigner, user_id: str) -> dict[str, str]:
    return {IDENTITY_HEADER: signer.sign(user_id)}


@pytest.fixture
def as_user(signer: IdentitySigner):  # type: ignore[no-untyped-def]
    """as_user(user_id) -> headers that authenticate the request as that user."""
    return lambda uid: identity_headers(signer, uid)


async def asgi_client(app, base_url: str = "http://service") -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client
