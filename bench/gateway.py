"""Gateway benchmark: the same `GET /api/resume/{id}` through the gateway and straight to
resume_service (the baseline), in one run.

Run with the local services up: ``.venv/bin/python bench/gateway.py``. resume_service and the
gateway each run as one uvicorn process, as the Procfile runs them (uvloop, httptools with the
request-head deadline: runtime.http_server); wrk drives both with 8 connections. The gateway does
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
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.common import (
    Result,
    cpu_seconds,
    identity,
    interleaved,
    open_session,
    uvicorn_process,
    wrk,
)
from bench.resume_service import create_resume
from runtime.sessions import SESSION_COOKIE
from runtime.settings import ServiceSettings

USER = "bench-gateway-user"
ROUNDS, ROUND_SECONDS = 3, 4
DIRECT, THROUGH = "direct GET /resume/{id}", "gateway GET /api/resume/{id}"
DIRECT_1, THROUGH_1 = "direct, 1 connection", "gateway, 1 connection"
RUNS = {DIRECT: (8, False), THROUGH: (8, True), DIRECT_1: (1, False), THROUGH_1: (1, True)}


def measured(name: str, url: str, headers: dict[str, str], pids: dict[str, int],
             cpu: dict[str, list[float]], connections: int = 8) -> Result:
    """wrk on `url`; adds the CPU microseconds each process spent per request to `cpu`."""
    before = {who: cpu_seconds(pid) for who, pid in pids.items()}
    result = wrk(name, url, headers, seconds=ROUND_SECONDS, connections=connections)
    requests = result.rps * ROUND_SECONDS
    for who, pid in pids.items():
        cpu.setdefault(who, []).append((cpu_seconds(pid) - before[who]) / requests * 1e6)
    return result


def main() -> None:
    settings = ServiceSettings()
    session_id = asyncio.run(open_session(settings.redis_url, USER))
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_id}"}
    with uvicorn_process("resume_service.app:create_app",
                         {"READ_CACHE": "true"}) as (resume_base, resume_pid):
        gateway_env = {"RESUME_SERVICE_URL": resume_base, "RATE_LIMIT_PER_SESSION": "100000000",
                       "RATE_LIMIT_PER_IP": "100000000", "COOKIE_SECURE": "false"}
        with uvicorn_process("gateway.app:create_app", gateway_env) as (gateway_base,
                                                                        gateway_pid):
            pids = {"resume_service": resume_pid, "gateway": gateway_pid}
            resume_id = create_resume(resume_base, USER)
            direct_url = f"{resume_base}/resume/{resume_id}"
            direct = identity(USER, "GET", direct_url)
            gateway_url = f"{gateway_base}/api/resume/{resume_id}"
            wrk("warm-up", direct_url, direct, seconds=2)
            wrk("warm-up", gateway_url, cookie, seconds=2)
            rounds: dict[str, list[Result]] = {name: [] for name in RUNS}
            cpu: dict[str, dict[str, list[float]]] = {name: {} for name in RUNS}
            for _ in range(ROUNDS):  # alternating, so both see the same drift of the machine
                for name, (connections, through_gateway) in RUNS.items():
                    url, headers = ((gateway_url, cookie) if through_gateway
                                    else (direct_url, direct))
                    rounds[name].append(measured(name, url, headers, pids, cpu[name],
                                                 connections))
    report(rounds, cpu)


def report(rounds: dict[str, list[Result]], cpu: dict[str, dict[str, list[float]]]) -> None:
    results = {name: interleaved(name, runs) for name, runs in rounds.items()}
    for name, result in results.items():
        print(result.line() + "   CPU/request: " + ", ".join(
            f"{who} {statistics.mean(us):.0f} us" for who, us in cpu[name].items()))
    direct, through = results[DIRECT], results[THROUGH]
    kept = through.rps / direct.rps
    per_round = [t.rps / d.rps for t, d in zip(rounds[THROUGH], rounds[DIRECT], strict=True)]
    print(f"gateway / direct throughput (8 connections): {kept:.2f} ({(1 - kept) * 100:.0f}% "
          f"cost, target <= 30%); per round: {', '.join(f'{r:.2f}' for r in per_round)}")
    added = results[THROUGH_1].p50_ms - results[DIRECT_1].p50_ms
    print(f"p50 added by the gateway, one request at a time: {added:.2f} ms (target <= 1 ms); "
          f"at 8 connections, where p50 is queueing behind the lower throughput: "
          f"{through.p50_ms - direct.p50_ms:.2f} ms")


if __name__ == "__main__":
    main()
