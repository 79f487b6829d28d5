"""ai_service benchmark: request-to-succeeded latency of a rating, and a cached rating.

Run with the local services up: ``.venv/bin/python bench/ai.py`` (about 40 s).

The processes are those of the Procfile: resume_service under uvicorn, and ai_service as its
HTTP process and its rating worker (with the outbox relay); the fake Gemini server
(tests/fakes/gemini.py) runs in this process and answers at once.
- baseline: the fake's own round trip through the same google-genai client and the service's
  Gemini wrapper (prompt, schema, validation), the part a real model call would replace, timed
  once after each rating (interleaved, so both see the same load);
- request-to-succeeded: POST /ai/rate (202) then GET /ai/ratings/{id}?wait (long poll) until
  the job succeeded, one rating at a time, each of a resume never rated before; the
  service's own overhead = its p50 minus the baseline's p50 (target < 20 ms);
- request-to-recorded: the same runs, to the moment the completing transaction commits (the
  NOTIFY it sends, heard on a LISTEN connection of this process): the time without the
  client's long poll;
- cached: POST /ai/rate of a rated resume (200 with the stored rating), with wrk
  (target p50 < 10 ms).
Also printed: the CPU time the ai_service HTTP process and its worker spent per rating (from
/proc), which this shared machine's drift in speed moves far less than the latencies.
"""

import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ai_service.gemini import Gemini, make_client
from ai_service.prompt import model_input
from ai_service.settings import AiSettings
from bench.common import (
    Result,
    background_process,
    cpu_seconds,
    identity,
    uvicorn_process,
    uvicorn_server,
    wait_replicated,
    wrk,
)
from contracts.topology import AI_RESUMES_CONSUMER, AI_SCHEMA
from ops.migrate import upgrade_all
from runtime.db import asyncpg_dsn
from runtime.jobs import job_finished_channel
from runtime.settings import ServiceSettings
from tests.fakes.gemini import FakeGemini

RATINGS = 150
TIME_BUDGET_SECONDS = 25.0


def document(run: str, index: int) -> dict[str, object]:
    return {
        "title": f"Bench {run} #{index}",
        "contact": {"name": "Grace Hopper", "email": "grace@example.com"},
        "sections": [{"title": f"Section {s}", "kind": "experience", "items": [
            {"title": f"Role {i}", "subtitle": "Company", "start_date": "2020",
             "bullets": [f"Did thing {b} with measurable impact" for b in range(4)]}
            for i in range(3)]} for s in range(4)],
    }


def summary(name: str, samples_ms: list[float], seconds: float) -> Result:
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Result(name, statistics.median(ordered), p99, len(ordered) / seconds)


class Baseline:
    """The fake model's round trip through the same client and wrapper, timed between the
    ratings, so both see the same drift of this shared machine."""

    def __init__(self, fake_url: str) -> None:
        settings = AiSettings(gemini_api_key="bench", gemini_base_url=fake_url)
        self.client = make_client(settings)
        assert self.client is not None
        self.rater = Gemini(self.client, settings)
        self.data = model_input(document("baseline", 0))
        self.samples: list[float] = []

    async def once(self) -> None:
        started = time.perf_counter()
        await self.rater.rate(self.data)
        self.samples.append((time.perf_counter() - started) * 1000)


async def create_resumes(session: aiohttp.ClientSession, resume_base: str, user: str,
                         run: str) -> list[str]:
    ids, url = [], f"{resume_base}/resume/create"
    for index in range(RATINGS + 1):
        async with session.post(url, json=document(run, index),
                                headers=identity(user, "POST", url)) as response:
            ids.append((await response.json())["id"])
    await wait_replicated(AI_SCHEMA, ids, AI_RESUMES_CONSUMER)  # the replica caught up first
    return ids


class CommitClock:
    """When each job's completing transaction committed, from its NOTIFY."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}

    def on_notify(self, _conn: object, _pid: int, _channel: str, job_id: str) -> None:
        self.seen[job_id] = time.perf_counter()


async def rate_once(session: aiohttp.ClientSession, ai_base: str, user: str,
                    resume_id: str, clock: CommitClock) -> tuple[float, float]:
    t0 = time.perf_counter()
    rate = f"{ai_base}/ai/rate/{resume_id}"
    async with session.post(rate, json={"version": 1},
                            headers=identity(user, "POST", rate)) as response:
        assert response.status == 202, await response.text()
        job_id = (await response.json())["job_id"]
    status = f"{ai_base}/ai/ratings/{job_id}?wait=10"
    async with session.get(status, headers=identity(user, "GET", status)) as response:
        job = await response.json()
    done = time.perf_counter()
    assert job["status"] == "succeeded", job
    return (done - t0) * 1000, (clock.seen.get(job_id, done) - t0) * 1000


async def request_to_completed(resume_base: str, ai_base: str, user: str,
                               dsn: str, fake_url: str, pids: dict[str, int],
                               ) -> tuple[Result, Result, Result, str, dict[str, float]]:
    """The ratings one at a time; also the CPU milliseconds each of `pids` spent per rating."""
    clock, listener = CommitClock(), await asyncpg.connect(dsn)
    await listener.add_listener(job_finished_channel(AI_SCHEMA), clock.on_notify)
    baseline = Baseline(fake_url)
    async with aiohttp.ClientSession() as session:
        ids = await create_resumes(session, resume_base, user, uuid.uuid4().hex)
        await rate_once(session, ai_base, user, ids[-1], clock)  # warm-up
        for _ in range(20):
            await baseline.once()
        baseline.samples.clear()
        client, recorded, started = [], [], time.perf_counter()
        cpu_before = {who: cpu_seconds(pid) for who, pid in pids.items()}
        for resume_id in ids[:-1]:
            seen_by_client, committed = await rate_once(session, ai_base, user, resume_id,
                                                        clock)
            client.append(seen_by_client)
            recorded.append(committed)
            await baseline.once()
            if time.perf_counter() - started > TIME_BUDGET_SECONDS:
                break
        cpu_ms = {who: (cpu_seconds(pid) - cpu_before[who]) * 1000 / len(client)
                  for who, pid in pids.items()}
    await listener.close()
    assert baseline.client is not None
    await baseline.client.aio.aclose()
    elapsed = time.perf_counter() - started
    return (summary("baseline: fake Gemini call", baseline.samples,
                    sum(baseline.samples) / 1000),
            summary("request -> succeeded", client, elapsed),
            summary("request -> recorded", recorded, elapsed), ids[-1], cpu_ms)


def main() -> None:
    settings = ServiceSettings()
    upgrade_all(settings.database_url)
    user = f"bench-ai-{uuid.uuid4().hex[:8]}"
    fake = FakeGemini().start()
    ai_env = {"GEMINI_API_KEY": "bench", "GEMINI_BASE_URL": fake.url,
              "RATING_LIMIT": "100000", "LOG_LEVEL": "warning"}
    as_deployed = {**ai_env, "JOB_WORKER_IN_APP": "false", "RELAY_IN_PROCESS": "false"}
    worker = {**ai_env, "RELAY_IN_PROCESS": "true"}
    try:
        with uvicorn_server("resume_service.app:create_app") as resume_base, \
                uvicorn_process("ai_service.app:create_app", as_deployed) as (ai_base, ai_pid), \
                background_process("-m", "ai_service.worker", env=worker) as worker_pid:
            pids = {"ai_service HTTP": ai_pid, "ai_service worker (and relay)": worker_pid}
            base_result, e2e, recorded, rated, cpu_ms = asyncio.run(request_to_completed(
                resume_base, ai_base, user, asyncpg_dsn(settings.database_url), fake.url,
                pids))
            url = f"{ai_base}/ai/rate/{rated}"
            post = {**identity(user, "POST", url), "Content-Type": "application/json"}
            body = json.dumps({"version": 1})
            wrk("warm-up", url, post, seconds=2, connections=1, method="POST", body=body)
            cached_1 = wrk("cached rating (1 conn)", url, post, seconds=5, connections=1,
                           method="POST", body=body)
            cached_8 = wrk("cached rating (8 conns)", url, post, seconds=5, method="POST",
                           body=body)
    finally:
        fake.stop()
    for result in (base_result, e2e, recorded, cached_1, cached_8):
        print(result.line())
    overhead = e2e.p50_ms - base_result.p50_ms
    print(f"service overhead p50 (request->succeeded minus baseline): {overhead:.2f} ms "
          f"(target < 20 ms); ratio request->succeeded / baseline p50: "
          f"{e2e.p50_ms / base_result.p50_ms:.2f}x")
    print(f"overhead p50 without the client's long poll (request->recorded minus baseline): "
          f"{recorded.p50_ms - base_result.p50_ms:.2f} ms")
    print(f"cached rating p50: {cached_1.p50_ms:.2f} ms (target < 10 ms)")
    print("CPU per rating: " + ", ".join(f"{who} {ms:.2f} ms" for who, ms in cpu_ms.items())
          + " (the worker's includes the google-genai call the baseline also makes)")


if __name__ == "__main__":
    main()
