"""Cost of observability: the gateway's `GET /api/resume/{id}` with metrics and logging on
(Prometheus middleware in the gateway and in resume_service, one JSON access line per request
in each, written to a file) against the same with them off (METRICS_ENABLED=false,
ACCESS_LOG=false), in one run. Besides wrk's figures it reports the CPU time both processes
spent per request, which a busy shared machine disturbs far less than throughput.

Run with the local services up: ``.venv/bin/python bench/observability.py``. Two stacks (a
gateway and a resume_service each, one uvicorn process apiece, as the Procfile runs them) run side
by side; wrk drives one stack at a time with 8 connections, alternating off/on rounds so that
drift in the machine's load falls on both alike. Target: on costs < 10% of throughput.
"""

import asyncio
import statistics
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.common import Result, cpu_seconds, free_port, open_session, uvicorn_process, wrk
from bench.resume_service import create_resume
from runtime.sessions import SESSION_COOKIE
from runtime.settings import ServiceSettings

USER = "bench-observability-user"
ROUNDS, SECONDS = 5, 4
MODES = {
    "off": {"METRICS_ENABLED": "false", "ACCESS_LOG": "false", "LOG_FORMAT": "json"},
    "on": {"METRICS_ENABLED": "true", "ACCESS_LOG": "true", "LOG_FORMAT": "json"},
}


@dataclass
class Stack:
    resume: str
    gateway: str
    gateway_ops: str  # the gateway's ops listener, where its /metrics is
    pids: list[int]


@contextmanager
def stack(mode: str, logs: Path) -> Iterator[Stack]:
    """A resume_service and a gateway in front of it."""
    env, ops_port = MODES[mode], free_port()
    with ExitStack() as running:
        resume, resume_pid = running.enter_context(uvicorn_process(
            "resume_service.app:create_app", env, log=logs / f"resume-{mode}.log"))
        gateway, gateway_pid = running.enter_context(uvicorn_process("gateway.app:create_app", {
            **env, "RESUME_SERVICE_URL": resume, "RATE_LIMIT_PER_SESSION": "100000000",
            "RATE_LIMIT_PER_IP": "100000000", "OPS_PORT": str(ops_port), "COOKIE_SECURE": "false"},
            log=logs / f"gateway-{mode}.log"))
        yield Stack(resume, gateway, f"http://127.0.0.1:{ops_port}",
                    [resume_pid, gateway_pid])


def summary(name: str, rounds: list[Result]) -> Result:
    return Result(name, statistics.median(r.p50_ms for r in rounds),
                  statistics.median(r.p99_ms for r in rounds),
                  statistics.median(r.rps for r in rounds))


def main() -> None:
    settings = ServiceSettings()
    cookie = {"Cookie": f"{SESSION_COOKIE}={asyncio.run(open_session(settings.redis_url, USER))}"}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as running:
        logs = Path(tmp)
        urls, stacks = {}, {}
        for mode in MODES:
            stacks[mode] = running.enter_context(stack(mode, logs))
            resume_id = create_resume(stacks[mode].resume, USER)
            urls[mode] = f"{stacks[mode].gateway}/api/resume/{resume_id}"
            wrk(f"warm-up {mode}", urls[mode], cookie, seconds=2)
        rounds: dict[str, list[Result]] = {mode: [] for mode in MODES}
        cpu_us: dict[str, list[float]] = {mode: [] for mode in MODES}
        for i in range(ROUNDS):
            for mode in MODES:
                before = sum(map(cpu_seconds, stacks[mode].pids))
                result = wrk(f"{mode} round {i + 1}", urls[mode], cookie, seconds=SECONDS)
                spent = sum(map(cpu_seconds, stacks[mode].pids)) - before
                rounds[mode].append(result)
                cpu_us[mode].append(spent / (result.rps * SECONDS) * 1e6)
        lines = sum(1 for _ in (logs / "gateway-on.log").open()) if (
            logs / "gateway-on.log").exists() else 0
        with urllib.request.urlopen(stacks["on"].gateway_ops + "/metrics") as scraped:
            counted = "rb_http_requests_total" in scraped.read().decode()
    results = {mode: summary(f"gateway GET, observability {mode}", r)
               for mode, r in rounds.items()}
    cpu = {mode: statistics.median(values) for mode, values in cpu_us.items()}
    for mode in MODES:
        print(results[mode].line() + f"   CPU/request (gateway + resume_service): "
              f"{cpu[mode]:.0f} us   rounds: " + ", ".join(f"{r.rps:.0f}" for r in rounds[mode]))
    ratio = results["on"].rps / results["off"].rps
    print(f"on / off throughput: {ratio:.3f} ({(1 - ratio) * 100:.1f}% cost, target < 10%)")
    print(f"on / off CPU per request: {cpu['on'] / cpu['off']:.3f} "
          f"(+{cpu['on'] - cpu['off']:.0f} us per request)")
    print(f"p50 added: {results['on'].p50_ms - results['off'].p50_ms:.2f} ms, p99 added: "
          f"{results['on'].p99_ms - results['off'].p99_ms:.2f} ms")
    print(f"gateway JSON log lines written while on: {lines}; /metrics served: {counted}")


if __name__ == "__main__":
    main()
