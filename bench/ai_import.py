"""AI import benchmark: request-to-succeeded and request-to-resume latency of importing the
engineer sample as a PDF (made by compile_service's Typst engine) and as a DOCX, against a
rating on the same fake Gemini in the same run.

Run with the local services up: ``.venv/bin/python bench/ai_import.py`` (about 40 s).

The processes are bench/ai.py's: resume_service under uvicorn (with its `resume_service.imports`
consumer), ai_service's HTTP process and its worker (with the outbox relay); the fake Gemini
(tests/fakes/gemini.py) runs in this process and answers at once (its import answer is its
small parser's reading of the text). In rounds, one at a time and interleaved so all see the
same load of this shared machine:
- baseline: a rating (POST /ai/rate, then GET /ai/ratings/{id}?wait until succeeded);
- import pdf / import docx: POST /ai/import (the upload, the text extracted at request time),
  then GET /ai/imports/{id}?wait until succeeded; each round by a new user, so the same bytes
  are never served from an earlier import;
- ... -> resume: the same, until GET /resume/{id} on resume_service answers the created
  resume (ImportFinished through RabbitMQ to resume_service, polled every 5 ms).
"""

import asyncio
import sys
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ai import CommitClock, create_resumes, rate_once, summary
from bench.common import Result, background_process, identity, uvicorn_process, uvicorn_server
from ops.migrate import upgrade_all
from runtime.settings import ServiceSettings
from tests.fakes.gemini import FakeGemini
from tests.integration.ai.resume_files import docx_of, pdf_of, typst_engine
from tests.samples import engineer

TIME_BUDGET_SECONDS = 25.0
ROUNDS = 150  # at most; the time budget usually ends them first


async def sample_files() -> dict[str, bytes]:
    async for engine in typst_engine():
        return {"pdf": await pdf_of(engine, engineer()), "docx": docx_of(engineer())}
    raise AssertionError("no Typst engine")


async def import_once(session: aiohttp.ClientSession, ai_base: str, resume_base: str,
                      kind: str, data: bytes) -> tuple[float, float]:
    """(request -> succeeded, request -> resume readable) in ms, as a new user."""
    user, t0 = f"bench-import-{uuid.uuid4().hex[:12]}", time.perf_counter()
    url = f"{ai_base}/ai/import"
    form = aiohttp.FormData()
    form.add_field("file", data, filename=f"sample.{kind}")
    async with session.post(url, data=form, headers=identity(user, "POST", url)) as response:
        assert response.status == 202, await response.text()
        job_id = (await response.json())["job_id"]
    status = f"{ai_base}/ai/imports/{job_id}?wait=10"
    async with session.get(status, headers=identity(user, "GET", status)) as response:
        job = await response.json()
    succeeded = time.perf_counter()
    assert job["status"] == "succeeded", job
    resume = f"{resume_base}/resume/{job['resume_id']}"
    while True:
        async with session.get(resume, headers=identity(user, "GET", resume)) as response:
            if response.status == 200:
                break
            assert response.status == 404, await response.text()
        await asyncio.sleep(0.005)
    return (succeeded - t0) * 1000, (time.perf_counter() - t0) * 1000


async def rounds(resume_base: str, ai_base: str, files: dict[str, bytes]) -> list[Result]:
    rater = f"bench-rater-{uuid.uuid4().hex[:8]}"
    samples: dict[str, list[float]] = {name: [] for name in (
        "baseline: rating -> succeeded", "import pdf -> succeeded", "import pdf -> resume",
        "import docx -> succeeded", "import docx -> resume")}
    async with aiohttp.ClientSession() as session:
        resumes = await create_resumes(session, resume_base, rater, uuid.uuid4().hex)
        clock = CommitClock()
        for kind, data in files.items():  # warm-up
            await import_once(session, ai_base, resume_base, kind, data)
        await rate_once(session, ai_base, rater, resumes.pop(), clock)
        started = time.perf_counter()
        while resumes and time.perf_counter() - started < TIME_BUDGET_SECONDS:
            rated, _ = await rate_once(session, ai_base, rater, resumes.pop(), clock)
            samples["baseline: rating -> succeeded"].append(rated)
            for kind, data in files.items():
                done, readable = await import_once(session, ai_base, resume_base, kind, data)
                samples[f"import {kind} -> succeeded"].append(done)
                samples[f"import {kind} -> resume"].append(readable)
    elapsed = time.perf_counter() - started
    return [summary(name, values, elapsed) for name, values in samples.items()]


def main() -> None:
    settings = ServiceSettings()
    upgrade_all(settings.database_url)
    files = asyncio.run(sample_files())
    fake = FakeGemini().start()
    ai_env = {"GEMINI_API_KEY": "bench", "GEMINI_BASE_URL": fake.url,
              "RATING_LIMIT": "100000", "LOG_LEVEL": "warning"}
    as_deployed = {**ai_env, "JOB_WORKER_IN_APP": "false", "RELAY_IN_PROCESS": "false"}
    try:
        with uvicorn_server("resume_service.app:create_app") as resume_base, \
                uvicorn_process("ai_service.app:create_app", as_deployed) as (ai_base, _), \
                background_process("-m", "ai_service.worker",
                                   env={**ai_env, "RELAY_IN_PROCESS": "true"}):
            results = asyncio.run(rounds(resume_base, ai_base, files))
    finally:
        fake.stop()
    print(f"sample files: pdf {len(files['pdf'])} bytes, docx {len(files['docx'])} bytes; "
          f"{len(fake.requests)} model calls")
    for result in results:
        print(result.line())
    baseline = results[0].p50_ms
    for result in results[1:]:
        print(f"{result.name}: p50 {result.p50_ms - baseline:+.2f} ms against the rating "
              f"(x{result.p50_ms / baseline:.2f})")


if __name__ == "__main__":
    main()
