"""The account export's routes and store on auth_service alone (real PostgreSQL and
RabbitMQ): one export per user under way, 409 before it succeeded, another user's a 404, the
worker's outcome (stored in chunks, bounded in size), and the archive gone once expired or
deleted for an erasure. The whole flow through the gateway: tests/e2e/test_account_export.py."""

import io
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from auth_service.app import create_app
from auth_service.exports import ArchiveStore
from auth_service.settings import AuthSettings
from runtime.db import make_engine
from tests.conftest import asgi_client, identity_headers
from tests.integration.auth.exports import run_export


@pytest.fixture
def settings(service_env: dict[str, str]) -> AuthSettings:
    return AuthSettings(**service_env, export_chunk_bytes=1024)


@pytest.fixture
async def auth(settings: AuthSettings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in asgi_client(create_app(settings), base_url="http://auth"):
        yield client


async def started(auth: httpx.AsyncClient, user: str) -> dict[str, Any]:
    response = await auth.get("/user/me/export", headers=identity_headers(user))
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/user/me/exports/{response.json()['job_id']}"
    return response.json()  # type: ignore[no-any-return]


async def test_one_export_per_user_is_under_way_and_its_archive_is_a_409_until_done(
        auth: httpx.AsyncClient, user_id: str) -> None:
    job = await started(auth, user_id)
    assert job["status"] == "queued" and job["archive_url"] is None
    assert (await started(auth, user_id))["job_id"] == job["job_id"]
    early = await auth.get(f"{job['status_url']}/archive", headers=identity_headers(user_id))
    assert early.status_code == 409, early.text
    assert early.json()["error"] == {"code": "export_not_ready", "job_status": "queued",
                                     "message": "the export is queued, not succeeded"}
    stranger = identity_headers(f"user-{uuid.uuid4()}")
    for path in (job["status_url"], f"{job['status_url']}/archive"):
        assert (await auth.get(path, headers=stranger)).status_code == 404
        assert (await auth.get(path)).status_code == 401
    assert (await auth.get("/user/me/exports/not-a-uuid",
                           headers=identity_headers(user_id))).status_code == 422


async def test_a_finished_export_is_downloadable_until_it_expires_or_is_erased(
        auth: httpx.AsyncClient, settings: AuthSettings, user_id: str, tmp_path: Path) -> None:
    job = await started(auth, user_id)
    await run_export(settings, job["job_id"], tmp_path)
    status = await auth.get(job["status_url"], params={"wait": 5},
                            headers=identity_headers(user_id))
    assert status.json()["status"] == "succeeded", status.text
    archive = await auth.get(status.json()["archive_url"], headers=identity_headers(user_id))
    assert archive.status_code == 200, archive.text
    assert archive.headers["content-disposition"].startswith(
        'attachment; filename="account-export-')
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert {"README.md", "account/user.json", "resumes/trash.json", "compile/jobs.json",
                "ai/ratings.json"} <= set(opened.namelist())
        assert len(opened.namelist()) == status.json()["files"]

    engine = make_engine(settings.database_url)
    try:
        store = ArchiveStore(engine, settings.export_chunk_bytes)
        stored = await store.stored(job["job_id"])
        assert stored is not None and stored.chunks == -(-stored.size_bytes // 1024)
        assert await store.delete_expired(datetime.now(UTC)) == 0
        assert await store.delete_expired(datetime.now(UTC) + timedelta(days=8)) >= 1
        gone = await auth.get(status.json()["archive_url"], headers=identity_headers(user_id))
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "export_expired"

        again = await started(auth, user_id)  # the last one is gone: a new export
        await run_export(settings, again["job_id"], tmp_path)
        assert await store.delete_owner(user_id) == 1
        assert await store.stored(again["job_id"]) is None
    finally:
        await engine.dispose()


async def test_an_archive_past_the_size_bound_fails_its_export(
        auth: httpx.AsyncClient, settings: AuthSettings, user_id: str, tmp_path: Path) -> None:
    job = await started(auth, user_id)
    await run_export(settings, job["job_id"], tmp_path, export_max_bytes=200)
    status = (await auth.get(job["status_url"], headers=identity_headers(user_id))).json()
    assert status["status"] == "failed"
    assert status["error"] == {"code": "too_large",
                               "message": "the archive would be over 200 bytes"}
