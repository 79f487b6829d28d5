"""Account export benchmark (issue #19): a user with 5 resumes of 10 versions each and 3 PDFs
exports their data; request to `succeeded` and the archive's download, against reading the
same data over the services' own API in the same run.

Run with the local services up: ``.venv/bin/python bench/account_export.py`` (about 60 s).

Processes, as the Procfile runs them: resume_service, compile_service (its worker in the app,
Typst's `standard` template for the PDFs), auth_service (its outbox relay in the process)
under uvicorn, and the export worker (`python -m ops.export_worker`). With
EXPORT_REUSE_SECONDS=0 every `GET /user/me/export` after the last one finished starts a new
export. In rounds, one at a time and interleaved so all see the same load of this shared
machine:
- baseline: what a client would read to gather the same: each resume's history and each
  version's document (GET /resume/{id}/history, /resume/{id}/versions/{n}) and each PDF
  (GET /compile/pdf/{job});
- export -> succeeded: GET /user/me/export, then GET /user/me/exports/{id}?wait until
  `succeeded` (the worker collects every service's part, zips it, stores it in chunks);
- download: GET /user/me/exports/{id}/archive, the whole zip read.
"""

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Result,
    background_process,
    identity_hook,
    uvicorn_server,
    wait_replicated,
)
from contracts.topology import COMPILE_RESUMES_CONSUMER, COMPILE_SCHEMA
from ops.migrate import upgrade_all
from runtime.settings import ServiceSettings
from tests.integration.compile.conftest import resume_document

RESUMES, VERSIONS, PDFS = 5, 10, 3
TIME_BUDGET_SECONDS = 30.0
ROUNDS = 40  # at most; the time budget usually ends them first


def summary(name: str, samples_ms: list[float], seconds: float) -> Result:
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Result(name, statistics.median(ordered), p99, len(ordered) / seconds)


async def populate(client: httpx.AsyncClient, resume_base: str,
                   compile_base: str) -> tuple[list[str], list[str]]:
    """RESUMES resumes of VERSIONS versions each, and PDFS compiled: their ids and the jobs'."""
    ids = []
    for index in range(RESUMES):
        document = resume_document(title=f"Bench resume {index}", template="standard")
        created = await client.post(f"{resume_base}/resume/create", json=document)
        ids.append(created.json()["id"])
        for version in range(2, VERSIONS + 1):
            body = {**document, "version": version - 1,
                    "title": f"Bench resume {index} v{version}"}
            updated = await client.put(f"{resume_base}/resume/update/{ids[-1]}", json=body)
            assert updated.status_code == 200, updated.text
    await wait_replicated(COMPILE_SCHEMA, ids, COMPILE_RESUMES_CONSUMER)
    jobs = []
    for resume_id in ids[:PDFS]:
        response = await client.post(f"{compile_base}/compile/{resume_id}",
                                     json={"template": "standard"})
        assert response.status_code == 202, response.text
        job = (await client.get(f"{compile_base}/compile/status/{response.json()['job_id']}",
                                params={"wait": 30})).json()
        assert job["status"] == "succeeded", job
        jobs.append(job["job_id"])
    return ids, jobs


async def read_directly(client: httpx.AsyncClient, resume_base: str, compile_base: str,
                        ids: list[str], jobs: list[str]) -> float:
    started = time.perf_counter()
    for resume_id in ids:
        assert (await client.get(f"{resume_base}/resume/{resume_id}/history")).is_success
        for version in range(1, VERSIONS + 1):
            at = await client.get(f"{resume_base}/resume/{resume_id}/versions/{version}")
            assert at.is_success, at.text
    for job_id in jobs:
        assert (await client.get(f"{compile_base}/compile/pdf/{job_id}")).is_success
    return (time.perf_counter() - started) * 1000


async def export_once(client: httpx.AsyncClient, auth_base: str) -> tuple[float, float, int]:
    """(request -> succeeded, download) in ms, and the archive's size."""
    started = time.perf_counter()
    response = await client.get(f"{auth_base}/user/me/export")
    assert response.status_code == 202, response.text
    status = f"{auth_base}{response.json()['status_url']}"
    while (job := (await client.get(status, params={"wait": 30})).json())["status"] not in (
            "succeeded", "failed"):
        pass
    assert job["status"] == "succeeded", job
    done = time.perf_counter()
    archive = await client.get(f"{auth_base}{job['archive_url']}")
    assert archive.status_code == 200 and len(archive.content) == job["size_bytes"]
    return (done - started) * 1000, (time.perf_counter() - done) * 1000, job["size_bytes"]


async def rounds(resume_base: str, compile_base: str, auth_base: str) -> list[Result]:
    user = f"bench-export-{uuid.uuid4().hex[:12]}"
    samples: dict[str, list[float]] = {name: [] for name in (
        "baseline: read over the API", "export -> succeeded", "download")}
    sizes = []
    async with httpx.AsyncClient(timeout=60, event_hooks={
            "request": [identity_hook(user)]}) as client:
        ids, jobs = await populate(client, resume_base, compile_base)
        await export_once(client, auth_base)  # warm-up
        await read_directly(client, resume_base, compile_base, ids, jobs)
        started = time.perf_counter()
        for _ in range(ROUNDS):
            if time.perf_counter() - started > TIME_BUDGET_SECONDS:
                break
            samples["baseline: read over the API"].append(
                await read_directly(client, resume_base, compile_base, ids, jobs))
            to_succeeded, download, size = await export_once(client, auth_base)
            samples["export -> succeeded"].append(to_succeeded)
            samples["download"].append(download)
            sizes.append(size)
    elapsed = time.perf_counter() - started
    print(f"{RESUMES} resumes x {VERSIONS} versions, {PDFS} PDFs: archive "
          f"{statistics.median(sizes) / 1024:.0f} KiB, {len(sizes)} exports")
    return [summary(name, values, elapsed) for name, values in samples.items()]


def main() -> None:
    settings = ServiceSettings()
    upgrade_all(settings.database_url)
    with tempfile.TemporaryDirectory(prefix="rb-bench-export-") as workdir:
        env = {"ARTIFACTS_DIR": f"{workdir}/artifacts", "COMPILE_WORK_DIR": f"{workdir}/work",
               "EXPORT_REUSE_SECONDS": "0", "LOG_LEVEL": "warning", "ACCESS_LOG": "problems"}
        with uvicorn_server("resume_service.app:create_app", env) as resume_base, \
                uvicorn_server("compile_service.app:create_app", env) as compile_base, \
                uvicorn_server("auth_service.app:create_app", env) as auth_base, \
                background_process("-m", "ops.export_worker",
                                   env={**env, "RELAY_IN_PROCESS": "false"}):
            results = asyncio.run(rounds(resume_base, compile_base, auth_base))
    for result in results:
        print(result.line())
    baseline = results[0].p50_ms
    for result in results[1:]:
        print(f"{result.name}: p50 x{result.p50_ms / baseline:.2f} the baseline's")


if __name__ == "__main__":
    main()
