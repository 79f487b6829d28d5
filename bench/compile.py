"""compile_service benchmark: plain pdflatex on the rendered .tex (the baseline) against the
service's request-to-succeeded time, cold (unique content: relay -> queue -> worker -> TeX ->
store; runs interleaved with the baseline's) and cached (same content: finished in the POST
itself), and N=1 vs N=2 resumes
compiled at once by one worker process with COMPILE_CONCURRENCY=2.

Run with the local services up: ``.venv/bin/python bench/compile.py`` (about 30 s; only
127.0.0.1). It starts resume_service and compile_service under uvicorn and one
``python -m compile_service.worker``, with a fresh artifact store. Do not run it while the
compile tests run: both would consume the same work queue.
Targets: cold p50 <= 1.2x plain pdflatex; cached p50 < 30 ms; N=2 round ~ N=1 round."""

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, identity_hook, uvicorn_server, wait_replicated
from compile_service.rendering import BUILTIN_TEMPLATES, Renderer
from contracts.resume import ResumeDocument
from contracts.topology import COMPILE_RESUMES_CONSUMER, COMPILE_SCHEMA
from ops.migrate import upgrade_all
from runtime.settings import ServiceSettings

RUNS = 12
CACHED_RUNS = 40
ROUNDS = 6


def document(name: str) -> dict[str, Any]:
    return {
        "title": f"Resume of {name}", "template": "classic",
        "contact": {"name": name, "email": "grace@example.com", "location": "Arlington, VA"},
        "sections": [
            {"title": "Experience", "kind": "experience", "items": [
                {"title": f"Role {i}", "subtitle": "US Navy", "start_date": "1943",
                 "end_date": "1986", "bullets": [f"Did thing {b} with measurable impact"
                                                 for b in range(4)]} for i in range(3)]},
            {"title": "Education", "kind": "education", "items": [
                {"title": "PhD, Mathematics", "subtitle": "Yale", "end_date": "1934"}]},
            {"title": "Skills", "kind": "skills", "items": [
                {"title": "Languages", "bullets": ["COBOL", "FLOW-MATIC", "Assembly"]}]},
        ],
    }


def plain_pdflatex(source: str) -> float:
    """Seconds for pdflatex (same flags as the engine) on the .tex, in a fresh directory."""
    with tempfile.TemporaryDirectory() as workdir:
        Path(workdir, "main.tex").write_text(source)
        started = time.perf_counter()
        subprocess.run(["pdflatex", "-no-shell-escape", "-halt-on-error",
                        "-interaction=nonstopmode", "main.tex"], cwd=workdir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started


@contextmanager
def worker_process(env: dict[str, str]) -> Iterator[None]:
    process = subprocess.Popen([sys.executable, "-m", "compile_service.worker"], cwd=ROOT,
                               env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)


class Client:
    def __init__(self, http: httpx.AsyncClient, resume_base: str, compile_base: str,
                 headers: dict[str, str]) -> None:
        self.http, self.resume_base, self.compile_base = http, resume_base, compile_base
        self.headers = headers

    async def create(self, name: str) -> tuple[str, int]:
        response = await self.http.post(f"{self.resume_base}/resume/create",
                                        json=document(name), headers=self.headers)
        response.raise_for_status()
        return response.json()["id"], response.json()["version"]

    async def compile(self, resume: tuple[str, int]) -> tuple[float, dict[str, Any]]:
        """Seconds from POST to seeing `succeeded` (long-poll), and the job."""
        started = time.perf_counter()
        response = await self.http.post(f"{self.compile_base}/compile/{resume[0]}",
                                        json={"version": resume[1]}, headers=self.headers)
        if response.status_code not in (200, 202):
            raise RuntimeError(f"compile request answered {response.status_code}: "
                               f"{response.text}")
        job = response.json()
        if job["status"] not in ("succeeded", "failed"):
            job = (await self.http.get(f"{self.compile_base}{job['status_url']}",
                                       params={"wait": 30}, headers=self.headers)).json()
        elapsed = time.perf_counter() - started
        if job["status"] != "succeeded":
            raise RuntimeError(f"compile failed: {job}")
        return elapsed, job


def line(name: str, seconds: list[float], wall: float, count: int) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return (f"{name:<34} p50 {statistics.median(ms):8.1f} ms   p99 {p99:8.1f} ms   "
            f"{count / wall:7.2f} compiles/s   (n={len(ms)})")


async def measure(client: Client, renderer: Renderer) -> None:
    tag = uuid.uuid4().hex[:6]
    resumes = [await client.create(f"Grace {tag} {i}") for i in range(RUNS + 3 * ROUNDS + 1)]
    await wait_replicated(COMPILE_SCHEMA, [resume_id for resume_id, _ in resumes],
                          COMPILE_RESUMES_CONSUMER)
    warm = resumes.pop()
    await client.compile(warm)

    sources = [renderer.render("classic", ResumeDocument.model_validate(document(f"P {i}")))
               .source for i in range(RUNS)]
    # interleaved, so the baseline and the service see the same background load
    plain: list[float] = []
    cold_jobs: list[tuple[float, dict[str, Any]]] = []
    for source in sources:
        plain.append(plain_pdflatex(source))
        cold_jobs.append(await client.compile(resumes.pop()))
    cold = [seconds for seconds, _ in cold_jobs]
    plain_wall, cold_wall = sum(plain), sum(cold)
    queued = [j for _, j in [await client.compile(warm)]]  # a cached one, to check the flag

    started = time.perf_counter()
    cached = [(await client.compile(warm))[0] for _ in range(CACHED_RUNS)]
    cached_wall = time.perf_counter() - started

    rounds: dict[int, list[float]] = {1: [], 2: []}
    plain_rounds: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(ROUNDS):  # interleaved, as above
        for n in (1, 2):
            started = time.perf_counter()
            await asyncio.gather(*[asyncio.to_thread(plain_pdflatex, s) for s in sources[:n]])
            plain_rounds[n].append(time.perf_counter() - started)
            batch = [resumes.pop() for _ in range(n)]
            started = time.perf_counter()
            await asyncio.gather(*[client.compile(r) for r in batch])
            rounds[n].append(time.perf_counter() - started)

    print(line("plain pdflatex (baseline)", plain, plain_wall, RUNS))
    print(line("service cold (POST->succeeded)", cold, cold_wall, RUNS))
    print(line("service cached (POST->succeeded)", cached, cached_wall, CACHED_RUNS))
    print(line("N=1: 1 resume at once (round)", rounds[1], sum(rounds[1]), ROUNDS))
    print(line("N=2: 2 resumes at once (round)", rounds[2], sum(rounds[2]), 2 * ROUNDS))
    timings = [job["timings"] for _, job in cold_jobs]
    print("cold, server side p50: " + ", ".join(
        f"{key} {statistics.median(t[key] for t in timings):.0f} ms"
        for key in ("queued_ms", "engine_ms", "total_ms")))
    cold_ratio = statistics.median(cold) / statistics.median(plain)
    print(f"cold p50 / plain pdflatex p50: {cold_ratio:.2f}x (target <= 1.2x)")
    print(f"cached p50: {statistics.median(cached) * 1000:.1f} ms (target < 30 ms); "
          f"cached flag: {queued[0]['cached']}")
    print(line("plain pdflatex, 1 at once (round)", plain_rounds[1], sum(plain_rounds[1]),
               ROUNDS))
    print(line("plain pdflatex, 2 at once (round)", plain_rounds[2], sum(plain_rounds[2]),
               2 * ROUNDS))
    n_ratio = statistics.median(rounds[2]) / statistics.median(rounds[1])
    plain_n = statistics.median(plain_rounds[2]) / statistics.median(plain_rounds[1])
    print(f"N=2 round p50 / N=1 round p50: service {n_ratio:.2f}x, plain pdflatex {plain_n:.2f}x "
          "(target ~1x on 2 idle cores)")


def main() -> None:
    settings = ServiceSettings()
    upgrade_all(settings.database_url)
    hook = identity_hook(f"bench-{uuid.uuid4()}")  # each request signed as it goes
    with tempfile.TemporaryDirectory() as scratch:
        env = {"ARTIFACTS_DIR": f"{scratch}/artifacts", "COMPILE_WORK_DIR": f"{scratch}/runs",
               "JOB_WORKER_IN_APP": "false", "COMPILE_CONCURRENCY": "2",
               "RELAY_POLL_SECONDS": "0.5"}
        renderer = Renderer([BUILTIN_TEMPLATES])
        with (uvicorn_server("resume_service.app:create_app") as resume_base,
              uvicorn_server("compile_service.app:create_app", env) as compile_base,
              worker_process(env)):

            async def run() -> None:
                async with httpx.AsyncClient(timeout=60, event_hooks={"request": [hook]}) as http:
                    await measure(Client(http, resume_base, compile_base, {}), renderer)

            asyncio.run(run())


if __name__ == "__main__":
    main()
