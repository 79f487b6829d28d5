"""resume_service benchmark: cached read vs uncached read vs update, one uvicorn worker.

Run with the local services up: ``.venv/bin/python bench/resume_service.py``. As in the
Procfile, the outbox relay runs as its own process beside the uvicorn worker. Two servers of
one worker each run side by side, read cache on and off, and wrk loads one at a time, in
alternating rounds, so the drift of this shared machine falls on both; the uncached read is
the baseline for the cached one. Targets: cached >= 3x uncached throughput, update p50 < 10 ms
(one worker, one connection)."""

import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, background_process, identity, interleaved, uvicorn_server, wrk

APP = "resume_service.app:create_app"
ROUNDS, ROUND_SECONDS = 3, 4
DOCUMENT = {
    "title": "Benchmark resume",
    "contact": {"name": "Grace Hopper", "email": "grace@example.com"},
    "sections": [{"title": f"Section {s}", "kind": "experience", "items": [
        {"title": f"Role {i}", "subtitle": "Company", "start_date": "2020",
         "bullets": [f"Did thing {b} with measurable impact" for b in range(4)]}
        for i in range(3)]} for s in range(4)],
}


def create_resume(base: str, user: str) -> str:
    url = f"{base}/resume/create"
    request = urllib.request.Request(
        url, data=json.dumps(DOCUMENT).encode(), method="POST",
        headers={**identity(user, "POST", url), "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return str(json.load(response)["id"])


def main() -> None:
    user = "bench-user"
    body = json.dumps(DOCUMENT)
    relay = background_process("-m", "ops.relay", "resume_service")
    with relay, uvicorn_server(APP, {"READ_CACHE": "true", "RELAY_IN_PROCESS": "false"}) as base, \
            uvicorn_server(APP, {"READ_CACHE": "false", "RELAY_IN_PROCESS": "false"}) as plain:
        resume_id = create_resume(base, user)
        cached_url, uncached_url = f"{base}/resume/{resume_id}", f"{plain}/resume/{resume_id}"
        headers = identity(user, "GET", cached_url)  # the same path on both servers
        update_url = f"{base}/resume/update/{resume_id}"
        update = {**identity(user, "PUT", update_url), "Content-Type": "application/json"}
        wrk("warm-up", cached_url, headers, seconds=2)
        wrk("warm-up", uncached_url, headers, seconds=2)
        rounds: dict[str, list[Result]] = {"cached": [], "uncached": []}
        for _ in range(ROUNDS):  # alternating, so both see the same drift of the machine
            rounds["cached"].append(wrk("cached", cached_url, headers, seconds=ROUND_SECONDS))
            rounds["uncached"].append(wrk("uncached", uncached_url, headers,
                                          seconds=ROUND_SECONDS))
        update_1 = wrk("update (1 connection)", update_url, update, seconds=6,
                       connections=1, method="PUT", body=body)
        update_8 = wrk("update (8 connections)", update_url, update, seconds=6,
                       method="PUT", body=body)
    cached = interleaved("cached GET /resume/{id}", rounds["cached"])
    uncached = interleaved("uncached GET /resume/{id}", rounds["uncached"])
    for result in (cached, uncached, update_1, update_8):
        print(result.line())
    ratios = [c.rps / u.rps for c, u in zip(rounds["cached"], rounds["uncached"], strict=True)]
    print(f"cached / uncached throughput: {cached.rps / uncached.rps:.2f}x (target >= 3x); "
          f"per round: {', '.join(f'{r:.2f}x' for r in ratios)}")
    print(f"update p50 (1 connection): {update_1.p50_ms:.2f} ms (target < 10 ms)")


if __name__ == "__main__":
    main()
