"""A database or cache that goes down answers 503 with Retry-After (or, for the read cache,
falls back to the database), never 500; and the service recovers without a restart. The
servers taken down are throwaway ones of each test: the shared ones stay up."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from auth_service.app import create_app as create_auth_app
from auth_service.settings import AuthSettings
from ops.migrate import upgrade_all
from resume_service.app import create_app as create_resume_app
from resume_service.settings import ResumeSettings
from runtime.cache import DEADLINE_SECONDS
from runtime.db import make_engine
from runtime.http import dependency_of
from tests.conftest import asgi_client
from tests.integration.resume.test_api import DOC, create
from tests.integration.runtime.throwaway_postgres import (
    ThrowawayPostgres,
    free_port,
    throwaway_postgres,
)
from tests.integration.runtime.throwaway_redis import throwaway_redis


def assert_unavailable(response: httpx.Response, dependency: str) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert response.headers["retry-after"] == "1"
    error = response.json()["error"]
    assert (error["code"], error["dependency"]) == ("dependency_unavailable", dependency)


@pytest.fixture
async def cluster() -> AsyncIterator[ThrowawayPostgres]:
    with throwaway_postgres() as pg:
        await asyncio.to_thread(upgrade_all, pg.url)
        yield pg


async def resume_client(service_env: dict[str, str], **settings: Any,
                        ) -> AsyncIterator[httpx.AsyncClient]:
    app = create_resume_app(ResumeSettings.model_validate(
        {**service_env, "relay_poll_seconds": 0.2, **settings}))
    async for client in asgi_client(app, base_url="http://resume"):
        yield client


async def test_database_stopped_mid_session_is_503_then_recovers(
        cluster: ThrowawayPostgres, service_env: dict[str, str], as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    async for client in resume_client(service_env, database_url=cluster.url):
        rid = (await create(client, headers))["id"]
        await asyncio.to_thread(cluster.stop)
        for _ in range(2):  # the pooled connections die first, then new ones are refused
            assert_unavailable(await client.put(f"/resume/update/{rid}", headers=headers,
                                                json={**DOC, "version": 1}), "database")
            assert_unavailable(await client.get(f"/resume/{rid}", headers=headers),
                               "database")
            assert_unavailable(await client.get(f"/resume/{rid}/history", headers=headers),
                               "database")
        await asyncio.to_thread(cluster.start)
        update = await until_not_503(client, "PUT", f"/resume/update/{rid}", headers=headers,
                                     json={**DOC, "version": 1})
        assert update.status_code == 200, update.text
        assert (await client.get(f"/resume/{rid}", headers=headers)).json()["version"] == 2


async def until_not_503(client: httpx.AsyncClient, method: str, path: str,
                        **request: Any) -> httpx.Response:
    """The first answer that is not a 503 (a pooled connection of before may still fail once
    the server is back), within 10 s."""
    deadline = time.monotonic() + 10
    while ((response := await client.request(method, path, **request)).status_code == 503
           and time.monotonic() < deadline):
        await asyncio.sleep(0.2)
    return response


async def test_a_cache_that_never_answers_leaves_reads_to_the_database(
        service_env: dict[str, str], as_user: Any, user_id: str) -> None:
    headers = as_user(user_id)
    closed = f"redis://127.0.0.1:{free_port()}/0"
    async for client in resume_client(service_env, redis_url=closed):
        rid = (await create(client, headers))["id"]
        for path in (f"/resume/{rid}", "/resume/all"):
            response = await client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.text)


async def test_a_cache_stopped_after_warming_leaves_reads_to_the_database(
        service_env: dict[str, str], as_user: Any, user_id: str) -> None:
    headers = as_user(user_id)
    with throwaway_redis() as (redis_url, server):
        async for client in resume_client(service_env, redis_url=redis_url):
            rid = (await create(client, headers))["id"]
            for _ in range(2):  # a miss fills the cache, the next read is a hit
                assert (await client.get(f"/resume/{rid}", headers=headers)).status_code == 200
            server.terminate()
            await asyncio.to_thread(server.wait)
            update = await client.put(f"/resume/update/{rid}", headers=headers,
                                      json={**DOC, "title": "Cache down", "version": 1})
            assert update.status_code == 200, update.text
            for path in (f"/resume/{rid}", "/resume/all"):
                response = await client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.text)
            assert (await client.get(f"/resume/{rid}", headers=headers)).json()["version"] == 2


async def test_sessions_store_down_is_503_for_sign_in(service_env: dict[str, str]) -> None:
    settings = AuthSettings(**{**service_env, "redis_url": f"redis://127.0.0.1:{free_port()}/0"},
                            dev_login_enabled=True, cookie_secure=False, oidc_client_id="")
    async for client in asgi_client(create_auth_app(settings), base_url="http://auth"):
        response = await client.post("/auth/dev-login", json={"email": "down@example.com"})
        assert_unavailable(response, "cache")


async def raised_by(work: Any) -> BaseException:
    try:
        await work
    except Exception as exc:
        return exc
    raise AssertionError("it did not fail")


async def test_each_dependency_is_named_from_what_its_client_raises(tmp_path: Any) -> None:
    closed = free_port()
    database = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/x")
    try:
        assert dependency_of(await raised_by(database.connect().start())) == "database"
    finally:
        await database.dispose()
    cache = Redis.from_url(f"redis://127.0.0.1:{closed}/0")
    assert dependency_of(await raised_by(cache.get("k"))) == "cache"
    await cache.aclose()
    broker = aio_pika.connect(f"amqp://guest:guest@127.0.0.1:{closed}/")
    assert dependency_of(await raised_by(broker)) == "broker"
    # an OSError of our own (a file, not a server) is a bug or a disk problem: a 500
    missing = asyncio.to_thread((tmp_path / "missing").read_bytes)
    assert dependency_of(await raised_by(missing)) is None


async def test_other_database_errors_are_not_taken_for_an_outage(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            with pytest.raises(Exception) as raised:
                await connection.execute(text("SELECT 1 / 0"))
    finally:
        await engine.dispose()
    assert dependency_of(raised.value) is None
    assert dependency_of(ValueError("not a dependency")) is None


async def test_a_cache_that_accepts_and_never_answers_leaves_reads_to_the_database(
        service_env: dict[str, str], as_user: Any, user_id: str) -> None:
    """A hung Redis (it accepts, reads and never replies) costs a read its cache deadline,
    then the database answers; nothing waits on it for ever."""
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    hung = f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0"
    headers = as_user(user_id)
    try:
        async for client in resume_client(service_env, redis_url=hung):
            rid = (await create(client, headers))["id"]
            started = asyncio.get_running_loop().time()
            response = await client.get(f"/resume/{rid}", headers=headers)
            waited = asyncio.get_running_loop().time() - started
            assert response.status_code == 200, response.text
            assert waited < DEADLINE_SECONDS * 3 + 2
    finally:
        server.close()
