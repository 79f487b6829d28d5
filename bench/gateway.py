"""Gateway benchmark: the same `GET /api/resume/{id}` through the gateway and straight to
resume_service (the baseline), in one run.

Run with the local services up: ``.venv/bin/python bench/gateway.py``. resume_service and the
gateway each run as one uvicorn process, as the Procfile runs them (uvloop, httptools with one
send per loop turn: runtime.http_server); wrk drives both with 8 connections. The gateway does
its full job on every request: the session check (kept in memory while Redis tracks it) and
rate-limit counting (tokens leased from Redis; limits set high enough not to trigger, so a
lease is 64 tokens, as with any limit of 1,280 or more), CSRF/CORS checks, signing the identity
header, forwarding over pooled keep-alive.
Targets: the gateway keeps >= 70% of direct throughput and adds <= 1 ms to p50. The latency
the gateway adds is measured one request at a time (1 connection), where p50 is the cost of the
extra hop; at 8 connections the p50 of a saturated server is connections / throughput, so it
repeats the throughput figure (both are printed).
"""

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis

from bench.common import UVICORN_SPEED, Result, wait_healthy, wrk
from bench.resume_service import DOCUMENT
from runtime.identity import IDENTITY_HEADER, IdentitySigner
from runtime.sessions import SESSION_COOKIE, SessionStore
from runtime.settings import ServiceSettings

USER = "bench-gateway-user"
ROOT = Path(__file__).resolve().parent.parent
SECONDS = 8


@contextmanager
def server(app: str, env: dict[str, str], *options: str) -> Iterator[tuple[str, int]]:
    """One uvicorn process, as the Procfile runs it; yields its base URL and pid."""
    from bench.common import free_port
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--no-access-log", "--log-level", "warning", *UVICORN_SPEED, *options],
        cwd=ROOT, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(name: str, url: str, headers: dict[str, str],
             pids: dict[str, int]) -> tuple[Result, dict[str, float]]:
    """wrk on `url`, and the CPU microseconds each process spent per request meanwhile."""
    before = {who: cpu_seconds(pid) for who, pid in pids.items()}
    result = wrk(name, url, headers, seconds=SECONDS)
    requests = result.rps * SECONDS
    return result, {who: (cpu_seconds(pid) - before[who]) / requests * 1e6
                    for who, pid in pids.items()}


def create_resume(base: str, headers: dict[str, str]) -> str:
    request = urllib.request.Request(
        f"{base}/resume/create", data=json.dumps(DOCUMENT).encode(), method="POST",
        headers={**headers, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return str(json.load(response)["id"])


async def open_session(redis_url: str) -> str:
    """What a sign-in leaves behind: a session in Redis for the user."""
    redis = Redis.from_url(redis_url)
    try:
        return await SessionStore(redis).create(USER)
    finally:
        await redis.aclose()


def main() -> None:
    settings = ServiceSettings()
    identity = {IDENTITY_HEADER: IdentitySigner(settings.internal_secret, 3600).sign(USER)}
    session_id = asyncio.run(open_session(settings.redis_url))
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_id}"}
    with server("resume_service.app:create_app", {"READ_CACHE": "true"}) as (resume_base,
                                                                              resume_pid):
        gateway_env = {"RESUME_SERVICE_URL": resume_base, "RATE_LIMIT_PER_SESSION": "100000000",
                       "RATE_LIMIT_PER_IP": "100000000"}
        with server("gateway.app:create_app", gateway_env, "--no-proxy-headers") as (gateway_base, gateway_pid):
            pids = {"resume_service": resume_pid, "gateway": gateway_pid}
            resume_id = create_resume(resume_base, identity)
            direct_url = f"{resume_base}/resume/{resume_id}"
            gateway_url = f"{gateway_base}/api/resume/{resume_id}"
            wrk("warm-up", direct_url, identity, seconds=2)
            wrk("warm-up", gateway_url, cookie, seconds=2)
            direct, direct_cpu = measured("direct GET /resume/{id}", direct_url, identity, pids)
            through, through_cpu = measured("gateway GET /api/resume/{id}", gateway_url, cookie,
                                            pids)
            direct_1 = wrk("direct, 1 connection", direct_url, identity, seconds=5,
                           connections=1)
            through_1 = wrk("gateway, 1 connection", gateway_url, cookie, seconds=5,
                            connections=1)
    for result, cpu in ((direct, direct_cpu), (through, through_cpu)):
        print(result.line() + "   CPU/request: " + ", ".join(
            f"{who} {us:.0f} us" for who, us in cpu.items()))
    print(direct_1.line())
    print(through_1.line())
    kept = through.rps / direct.rps
    print(f"gateway / direct throughput (8 connections): {kept:.2f} ({(1 - kept) * 100:.0f}% "
          f"cost, target <= 30%)")
    print(f"p50 added by the gateway, one request at a time: "
          f"{through_1.p50_ms - direct_1.p50_ms:.2f} ms (target <= 1 ms); at 8 connections, "
          f"where p50 is queueing behind the lower throughput: "
          f"{through.p50_ms - direct.p50_ms:.2f} ms")


if __name__ == "__main__":
    main()
