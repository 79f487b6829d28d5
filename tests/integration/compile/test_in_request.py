"""Typst jobs compiled by the request that asks for them (TYPST_IN_REQUEST): the POST answers
with the succeeded job, whose history is requested, started (by the request) and finished;
the worker that then receives its request message does nothing; the ATS report follows as
for any job. Without a slot (TYPST_IN_REQUEST=0) the same job goes through the worker."""

from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from compile_service.projections import job_records
from compile_service.settings import CompileSettings
from compile_service.wiring import build
from tests.integration.compile.conftest import (
    compile_and_wait,
    compile_client,
    create_resume,
    pdf_text,
    resume_document,
    unique,
    wait_for_job,
)

pytestmark = pytest.mark.usefixtures("amqp_url")  # the session's vhost


async def history(settings: CompileSettings, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The job's events as its stream holds them: (type, payload)."""
    components = build(settings)
    try:
        async with components.jobs.sessions() as session:
            envelopes = await components.jobs.store.read_stream(session, job_id)
        return [(e.event_type, e.payload) for e in envelopes]
    finally:
        await components.close()


async def row_and_replayed_row(settings: CompileSettings, job_id: str) -> tuple[Any, Any]:
    """The job's row as its request wrote it (in one insert), and as applying its events
    one by one makes it (a rebuild), in a transaction rolled back."""
    components = build(settings)
    try:
        async with components.jobs.sessions() as session, session.begin():
            written = await job_records.by_id(session, job_id)
            envelopes = await components.jobs.store.read_stream(session, job_id)
            await session.execute(delete(job_records.table)
                                  .where(job_records.table.c.job_id == job_id))
            for envelope in envelopes:
                await job_records.apply_envelope(session, envelope)
            replayed = await job_records.by_id(session, job_id)
            await session.rollback()
        return written, replayed
    finally:
        await components.close()


async def test_a_typst_job_is_compiled_by_its_request(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str, compile_env: dict[str, Any]) -> None:
    headers, name = as_user(user_id), unique("In Request")
    resume_id, version = await create_resume(resume_api, headers,
                                             resume_document(name, template="compact"))
    response = await compile_api.post(f"/compile/{resume_id}", headers=headers,
                                      json={"version": version, "template": "compact"})
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["status"], job["cached"], job["attempts"], job["pages"]) == (
        "succeeded", False, 1, 1)
    assert job["timings"]["engine_ms"] is not None
    assert name in await pdf_text(compile_api, headers, job["job_id"])
    # a LaTeX job queued after it: once it finished, the worker had the Typst job's request
    # message before it (one queue, in order) and recorded nothing for it
    latex = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                   template="classic")
    assert latex["status"] == "succeeded"
    settings = CompileSettings.model_validate(compile_env)
    events = await history(settings, job["job_id"])
    assert [event_type for event_type, _ in events] == [
        "CompileRequested", "CompileStarted", "CompileFinished"]
    started = events[1][1]
    assert started["attempt"] == 1 and started["worker"].endswith(":request")
    assert events[2][1]["outcome"] == "succeeded"
    written, replayed = await row_and_replayed_row(settings, job["job_id"])
    assert written._asdict() == replayed._asdict()
    checked = await wait_for_job(compile_api, headers, job["job_id"])
    assert checked["ats_status"] == "ready" and checked["ats"]["score"] >= 95


async def test_without_a_slot_the_worker_compiles_it(
        resume_api: httpx.AsyncClient, as_user: Any, user_id: str,
        compile_env: dict[str, Any]) -> None:
    settings = CompileSettings.model_validate({**compile_env, "typst_in_request": 0})
    headers = as_user(user_id)
    resume_id, version = await create_resume(
        resume_api, headers, resume_document(unique("Queued Typst"), template="compact"))
    async with compile_client(settings) as client:
        response = await client.post(f"/compile/{resume_id}", headers=headers,
                                     json={"version": version, "template": "compact"})
        assert response.status_code == 202, response.text
        assert response.json()["status"] in ("queued", "running")
        job = await wait_for_job(client, headers, response.json()["job_id"], with_ats=False)
    assert job["status"] == "succeeded"
    events = await history(settings, job["job_id"])
    assert [event_type for event_type, _ in events] == [
        "CompileRequested", "CompileStarted", "CompileFinished"]
    assert not events[1][1]["worker"].endswith(":request")
