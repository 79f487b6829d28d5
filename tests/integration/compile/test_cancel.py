"""`POST /compile/cancel/{job_id}` through the real app, broker and worker (one job at a time
here, so a second job waits queued behind a running one): a cancelled job ends `failed` with
`cancelled`, whether it was queued (no worker ever starts it) or running (its pdflatex is
killed and the worker's own close records nothing)."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from compile_service.settings import CompileSettings
from tests.integration.compile.conftest import (
    compile_and_wait,
    compile_client,
    create_resume,
    resume_document,
    run_dir_entries,
    unique,
    wait_for_job,
)


@pytest.fixture(scope="module")
async def one_at_a_time(compile_env: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    settings = CompileSettings.model_validate({**compile_env, "compile_concurrency": 1})
    async with compile_client(settings) as client:
        yield client


async def status_of(client: httpx.AsyncClient, headers: dict[str, str],
                    job_id: str) -> dict[str, Any]:
    response = await client.get(f"/compile/status/{job_id}", headers=headers)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


async def until_running(client: httpx.AsyncClient, headers: dict[str, str],
                        job_id: str) -> None:
    deadline = time.monotonic() + 15
    while (await status_of(client, headers, job_id))["status"] == "queued":
        assert time.monotonic() < deadline, "the job never started"
        await asyncio.sleep(0.05)


async def test_a_running_and_a_queued_job_are_cancelled(
        one_at_a_time: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str, compile_env: dict[str, Any]) -> None:
    client, headers = one_at_a_time, as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers,
                                             resume_document(unique("Cancel")))
    running = await client.post(f"/compile/{resume_id}",
                                json={"version": version, "template": "loop"}, headers=headers)
    running_id = running.json()["job_id"]
    await until_running(client, headers, running_id)
    queued = await client.post(f"/compile/{resume_id}",
                               json={"version": version, "template": "slow"}, headers=headers)
    queued_id = queued.json()["job_id"]
    await asyncio.sleep(0.3)
    assert (await status_of(client, headers, queued_id))["status"] == "queued"

    cancelled = await client.post(f"/compile/cancel/{queued_id}", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["status"], body["error_code"], body["pdf_url"]) == ("failed", "cancelled", None)

    started = time.monotonic()
    cancelled = await client.post(f"/compile/cancel/{running_id}", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["error_code"]) == ("failed",
                                                                            "cancelled")
    # the worker notices, kills its pdflatex (the loop would run into the 4 s limit) and
    # takes the next message: the cancelled queued job, which it leaves alone
    while run_dir_entries(compile_env["compile_work_dir"]):
        assert time.monotonic() - started < 2, "the cancelled TeX run was not stopped"
        await asyncio.sleep(0.05)
    after = await compile_and_wait(client, headers, resume_id, version=version)
    assert after["status"] == "succeeded", after
    assert time.monotonic() - started < 3.5  # well before the loop's time limit
    await asyncio.sleep(0.5)
    for job_id, attempts in ((running_id, 1), (queued_id, 0)):
        job = await status_of(client, headers, job_id)
        assert (job["status"], job["error_code"], job["attempts"]) == ("failed", "cancelled",
                                                                      attempts), job
    assert (await status_of(client, headers, queued_id))["timings"]["started_at"] is None


async def test_a_finished_job_is_left_as_it_was_with_a_409(
        one_at_a_time: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    client, headers = one_at_a_time, as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers,
                                             resume_document(unique("Done")))
    job = await compile_and_wait(client, headers, resume_id, version=version)
    assert job["status"] == "succeeded", job
    response = await client.post(f"/compile/cancel/{job['job_id']}", headers=headers)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "job_finished"
    assert response.json()["error"]["job_status"] == "succeeded"
    assert (await status_of(client, headers, job["job_id"])) == job
    again = await client.post(f"/compile/cancel/{job['job_id']}", headers=headers)
    assert again.status_code == 409


async def test_another_users_or_an_unknown_job_is_a_404(
        one_at_a_time: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    client, headers = one_at_a_time, as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers,
                                             resume_document(unique("Mine")))
    response = await client.post(f"/compile/{resume_id}",
                                 json={"version": version, "template": "slow"},
                                 headers=headers)
    job_id = response.json()["job_id"]
    stranger = await client.post(f"/compile/cancel/{job_id}", headers=as_user(unique("u")))
    assert stranger.status_code == 404
    assert stranger.json()["error"]["code"] == "job_not_found"
    unknown = await client.post("/compile/cancel/00000000-0000-4000-8000-000000000000",
                                headers=headers)
    assert unknown.status_code == 404
    job = await wait_for_job(client, headers, job_id)
    assert job["status"] == "succeeded", job  # the stranger's cancel changed nothing
