"""Share links benchmark: the public JSON of a share through the gateway, against the owner's
`GET /api/resume/{id}` through the same gateway (the baseline), and what recording a view
costs, all in one run with the rounds interleaved.

Run with the local services up: ``.venv/bin/python bench/shares.py``. Two resume_service
processes on the same database and Redis, one recording views (SHARE_VIEWS_RECORDED=true) and
one not, each behind a gateway of its own (one uvicorn process each, as the Procfile runs
them); wrk drives them with 8 connections. The public JSON is read three ways:

- not recorded: the read alone (the owner's read cache, one Redis round trip);
- recorded, one viewer: every request after the first is a repeat view within the hour, so
  recording is the SET NX on the viewer's hash, run beside the answer;
- recorded, a new viewer each request (wrk sends a new User-Agent every time): every view is
  the hour's first, so each one also appends a ShareViewed (in the share's stream, holding
  the schema's append lock) and its share_views row.

The share's PDF (cached: compiled once before the rounds, then found by content) is read
through the recording gateway, one viewer, against the owner's download of the same PDF
(`GET /api/compile/pdf/{job}`) through the same gateway: a compile_service process (its job
worker and relay in it) serves both, the share's through resume_service, which checks the
share, records the download and relays the file.

Printed: p50/p99/throughput of each, the public read against the baseline, the cost of
recording against the read alone, and how many of the new viewers' views were recorded (a
recorder with more than 10,000 views waiting drops views rather than queueing more).
"""

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from bench.common import (
    Result,
    duration_ms,
    identity,
    interleaved,
    open_session,
    uvicorn_process,
    wrk,
)
from bench.resume_service import create_resume
from runtime.db import asyncpg_dsn
from runtime.sessions import SESSION_COOKIE
from runtime.settings import ServiceSettings

USER = "bench-shares-user"
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}
ROUNDS, ROUND_SECONDS = 3, 4
OWNER = "owner GET /api/resume/{id}"
QUIET = "public, not recorded"
REPEAT = "public, recorded, 1 viewer"
FRESH = "public, recorded, new viewers"
OWNER_PDF = "owner GET /api/compile/pdf/{job}"
PUBLIC_PDF = "public PDF, cached"
GATEWAY_ENV = {"RATE_LIMIT_PER_SESSION": "100000000", "RATE_LIMIT_PER_IP": "100000000",
               "COOKIE_SECURE": "false"}
# a new User-Agent on every request: a new viewer hash, so a view recorded every time
NEW_VIEWER_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  wrk.headers["User-Agent"] = "Mozilla/5.0 bench-viewer-{run}-" .. counter
  return wrk.format(nil)
end
"""


def share(base: str, resume_id: str) -> str:
    """A share following the latest version; its slug."""
    url = f"{base}/resume/{resume_id}/shares"
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={
        **identity(USER, "POST", url), "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return str(json.load(response)["slug"])


def wrk_new_viewers(name: str, url: str, seconds: int) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(NEW_VIEWER_SCRIPT.replace("{run}", uuid.uuid4().hex))  # new every run
    output = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "--latency", "-s",
                             handle.name, url], capture_output=True, text=True, check=True,
                            timeout=seconds + 30).stdout
    os.unlink(handle.name)
    if re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise RuntimeError(f"{name}: failed responses\n{output}")
    return Result(
        name,
        duration_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),  # type: ignore[union-attr]
        duration_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),  # type: ignore[union-attr]
        float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
    )


def compiled_job(compile_url: str, resume_id: str) -> str:
    """The owner's compile of the resume, once it succeeded; its job id."""
    url = f"{compile_url}/compile/{resume_id}"
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={
        **identity(USER, "POST", url), "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        job_id = str(json.load(response)["job_id"])
    status = f"{compile_url}/compile/status/{job_id}?wait=30"
    with urllib.request.urlopen(urllib.request.Request(
            status, headers=identity(USER, "GET", status)), timeout=60) as response:
        job = json.load(response)
    if job["status"] != "succeeded":
        raise RuntimeError(f"the compile did not succeed: {job}")
    return job_id


def wait_compiled(url: str) -> None:
    """Until the share's PDF answers (its resume reached compile_service's replica)."""
    for _ in range(100):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=BROWSER),
                                        timeout=60):
                return
        except urllib.error.HTTPError:
            asyncio.run(asyncio.sleep(0.2))
    raise RuntimeError("the share's PDF never answered")


async def recorded_views(database_url: str, slug: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return int(await connection.fetchval(
            "SELECT count(*) FROM resume.share_views v JOIN resume.shares s "
            "ON s.id = v.share_id WHERE s.slug = $1", slug))
    finally:
        await connection.close()


def main() -> None:
    settings = ServiceSettings()
    session_id = asyncio.run(open_session(settings.redis_url, USER))
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_id}"}
    with (uvicorn_process("compile_service.app:create_app") as (compile_url, _),
          uvicorn_process("resume_service.app:create_app", {
            "READ_CACHE": "true", "SHARE_VIEWS_RECORDED": "true",
            "COMPILE_SERVICE_URL": compile_url}) as (recording, _),
          uvicorn_process("resume_service.app:create_app", {
            "READ_CACHE": "true", "SHARE_VIEWS_RECORDED": "false"}) as (quiet, _),
          uvicorn_process("gateway.app:create_app", {
            **GATEWAY_ENV, "RESUME_SERVICE_URL": recording,
            "COMPILE_SERVICE_URL": compile_url}) as (gateway, _),
          uvicorn_process("gateway.app:create_app", {
            **GATEWAY_ENV, "RESUME_SERVICE_URL": quiet}) as (quiet_gateway, _)):
        resume_id = create_resume(recording, USER)
        slug = share(recording, resume_id)
        owner_url = f"{gateway}/api/resume/{resume_id}"
        public_url, quiet_url = (f"{gateway}/api/public/{slug}",
                                 f"{quiet_gateway}/api/public/{slug}")
        public_pdf_url = f"{public_url}/pdf"
        wait_compiled(public_pdf_url)
        owner_pdf_url = f"{gateway}/api/compile/pdf/{compiled_job(compile_url, resume_id)}"
        for url, headers in ((owner_url, cookie), (public_url, BROWSER), (quiet_url, BROWSER),
                             (owner_pdf_url, cookie), (public_pdf_url, BROWSER)):
            wrk("warm-up", url, headers, seconds=2)
        rounds: dict[str, list[Result]] = {
            name: [] for name in (OWNER, QUIET, REPEAT, FRESH, OWNER_PDF, PUBLIC_PDF)}
        fresh_requests, before = 0.0, asyncio.run(recorded_views(settings.database_url, slug))
        for _ in range(ROUNDS):  # alternating, so all see the same drift of the machine
            rounds[OWNER].append(wrk(OWNER, owner_url, cookie, seconds=ROUND_SECONDS))
            rounds[QUIET].append(wrk(QUIET, quiet_url, BROWSER, seconds=ROUND_SECONDS))
            rounds[REPEAT].append(wrk(REPEAT, public_url, BROWSER, seconds=ROUND_SECONDS))
            rounds[FRESH].append(wrk_new_viewers(FRESH, public_url, ROUND_SECONDS))
            fresh_requests += rounds[FRESH][-1].rps * ROUND_SECONDS
            rounds[OWNER_PDF].append(wrk(OWNER_PDF, owner_pdf_url, cookie,
                                         seconds=ROUND_SECONDS))
            rounds[PUBLIC_PDF].append(wrk(PUBLIC_PDF, public_pdf_url, BROWSER,
                                          seconds=ROUND_SECONDS))
        asyncio.run(asyncio.sleep(2))  # the last recordings land
        recorded = asyncio.run(recorded_views(settings.database_url, slug)) - before
    report(rounds, recorded, fresh_requests)


def report(rounds: dict[str, list[Result]], recorded: int, fresh_requests: float) -> None:
    results = {name: interleaved(name, runs) for name, runs in rounds.items()}
    for result in results.values():
        print(result.line())
    owner, quiet = results[OWNER], results[QUIET]
    per_round = [q.rps / o.rps for q, o in zip(rounds[QUIET], rounds[OWNER], strict=True)]
    print(f"public JSON / owner's read throughput: {quiet.rps / owner.rps:.2f} "
          f"(per round: {', '.join(f'{r:.2f}' for r in per_round)})")
    for name in (REPEAT, FRESH):
        result = results[name]
        print(f"{name}: throughput {result.rps / quiet.rps:.2f} of not recorded, "
              f"p50 {result.p50_ms - quiet.p50_ms:+.2f} ms, "
              f"p99 {result.p99_ms - quiet.p99_ms:+.2f} ms")
    pdf = results[PUBLIC_PDF].rps / results[OWNER_PDF].rps
    print(f"public PDF (cached) / owner's PDF download throughput: {pdf:.2f}")
    print(f"new viewers: {recorded} views recorded of ~{fresh_requests:.0f} requests "
          f"({recorded / max(fresh_requests, 1) * 100:.0f}%); "
          f"{statistics.mean(r.rps for r in rounds[FRESH]):.0f} views/s offered")


if __name__ == "__main__":
    main()
