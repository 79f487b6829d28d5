"""Another commit's code against this tree's, side by side in one run: the cached
`GET /resume/{id}` straight to resume_service, and `GET /api/resume/{id}` through the gateway
(each tree's gateway in front of its own resume_service).

Run with the local services up: ``.venv/bin/python bench/before_after.py [REV]`` (default
`main`; ``BENCH_ROUNDS=6`` for more rounds). REV is exported with `git archive` to a
temporary directory and runs from there, with this environment's packages; both trees' four
processes are up at once and wrk loads one at a time in alternating rounds, so the drift of
this shared machine falls on both. Prints p50, p99, throughput and CPU per request per process
(Redis's server included) for each, and this tree's throughput over REV's (the median of the
rounds' ratios) and CPU per request over REV's."""

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    UVICORN_SPEED,
    Result,
    cpu_seconds,
    free_port,
    identity,
    interleaved,
    open_session,
    wait_healthy,
    wrk,
)
from bench.protocol import GATEWAY_ENV, RESUME_ENV, redis_pid
from bench.resume_service import create_resume
from runtime.sessions import SESSION_COOKIE
from runtime.settings import ServiceSettings

ROUNDS, ROUND_SECONDS = int(os.environ.get("BENCH_ROUNDS", "5")), 4
USER = "bench-before-after-user"


@contextlib.contextmanager
def exported(rev: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-before-") as directory:
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", directory], input=archive, check=True)
        yield Path(directory)


@contextlib.contextmanager
def served(tree: Path, app: str, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`app` of `tree` in one uvicorn process (as bench.common.uvicorn_process, but run from
    that tree, whose packages come first); its base URL and pid."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--no-access-log", "--log-level", "warning", *UVICORN_SPEED],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree), **env})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 else "main"
    session_id = asyncio.run(open_session(ServiceSettings().redis_url, USER))
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_id}"}
    redis = redis_pid()
    runs: dict[tuple[str, str], tuple[str, dict[str, str], dict[str, int]]] = {}
    with exported(rev) as before, contextlib.ExitStack() as running:
        resume_id = ""
        for name, tree in ((rev, before), ("this tree", ROOT)):
            resume, resume_pid = running.enter_context(
                served(tree, "resume_service.app:create_app", RESUME_ENV))
            gateway, gateway_pid = running.enter_context(served(
                tree, "gateway.app:create_app", {**GATEWAY_ENV, "RESUME_SERVICE_URL": resume}))
            resume_id = resume_id or create_resume(resume, USER)
            direct = f"{resume}/resume/{resume_id}"
            runs["direct", name] = (direct, identity(USER, "GET", direct),
                                    {"redis": redis, "resume_service": resume_pid})
            runs["gateway", name] = (f"{gateway}/api/resume/{resume_id}", cookie,
                                     {"redis": redis, "resume_service": resume_pid,
                                      "gateway": gateway_pid})
        for url, headers, _ in runs.values():
            wrk("warm-up", url, headers, seconds=2)
        rounds: dict[tuple[str, str], list[Result]] = {key: [] for key in runs}
        cpu: dict[tuple[str, str], dict[str, list[float]]] = {key: {} for key in runs}
        for _ in range(ROUNDS):
            for key, (url, headers, pids) in runs.items():
                start = {who: cpu_seconds(pid) for who, pid in pids.items()}
                result = wrk(" ".join(key), url, headers, seconds=ROUND_SECONDS)
                for who, pid in pids.items():
                    cpu[key].setdefault(who, []).append(
                        (cpu_seconds(pid) - start[who]) / (result.rps * ROUND_SECONDS) * 1e6)
                rounds[key].append(result)
    report(rev, rounds, cpu)


def report(rev: str, rounds: dict[tuple[str, str], list[Result]],
           cpu: dict[tuple[str, str], dict[str, list[float]]]) -> None:
    for route in ("direct", "gateway"):
        totals = {}
        for name in (rev, "this tree"):
            key = (route, name)
            totals[name] = sum(statistics.mean(us) for us in cpu[key].values())
            per_process = ", ".join(f"{who} {statistics.mean(us):.0f}"
                                    for who, us in cpu[key].items())
            print(f"{interleaved(f'{route}, {name}', rounds[key]).line()}   CPU/request "
                  f"{totals[name]:5.0f} us ({per_process})")
        ratios = [after.rps / before.rps for before, after
                  in zip(rounds[route, rev], rounds[route, "this tree"], strict=True)]
        print(f"{route}: this tree / {rev} throughput x{statistics.median(ratios):.2f} "
              f"(median of rounds {', '.join(f'{r:.2f}' for r in ratios)}), CPU/request "
              f"x{totals['this tree'] / totals[rev]:.2f}")


if __name__ == "__main__":
    main()
