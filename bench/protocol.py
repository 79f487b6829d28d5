"""Our own protocol code against the kept library's API, on the route each piece serves, in
one run (docs/architecture.md, "Protocol code of our own": a piece stays only for a figure
of at least 20%).

Run with the local services up: ``.venv/bin/python bench/protocol.py [piece ...]``, pieces
among: PIECES (``BENCH_ROUNDS=6`` for more rounds). Each variant runs as its own uvicorn
process (as the Procfile runs them), all of them up at once, and wrk loads one at a time in
alternating rounds, so the drift of this shared machine falls on each alike. For every
variant: p50, p99, throughput, and the CPU each process spent per request (Redis's server,
the service, the gateway where it is on the path) with their sum; then each alternative's
ratio against ours: throughput ours / theirs (the median of the rounds' ratios), CPU per
request theirs / ours (summed across processes). A ratio of 1.20 or more on either keeps the
piece; the verdict line says which."""

import asyncio
import os
import statistics
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis

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

ROUNDS, ROUND_SECONDS = int(os.environ.get("BENCH_ROUNDS", "3")), 4
KEEP_AT = 1.20
USER = "bench-protocol-user"
RESUME_ENV = {"READ_CACHE": "true", "RELAY_IN_PROCESS": "false"}
GATEWAY_ENV = {"RATE_LIMIT_PER_SESSION": "100000000", "RATE_LIMIT_PER_IP": "100000000",
               "COOKIE_SECURE": "false"}


@dataclass
class Variant:
    name: str
    url: str
    headers: dict[str, str]
    pids: dict[str, int]  # process -> pid, whose CPU counts for this variant's requests
    rounds: list[Result] = field(default_factory=list)
    cpu: dict[str, list[float]] = field(default_factory=dict)  # process -> µs per request

    def measure(self, connections: int) -> None:
        before = {who: cpu_seconds(pid) for who, pid in self.pids.items()}
        result = wrk(self.name, self.url, self.headers, seconds=ROUND_SECONDS,
                     connections=connections)
        requests = result.rps * ROUND_SECONDS
        for who, pid in self.pids.items():
            self.cpu.setdefault(who, []).append((cpu_seconds(pid) - before[who]) / requests
                                                * 1e6)
        self.rounds.append(result)

    def cpu_total(self) -> float:
        return sum(statistics.mean(us) for us in self.cpu.values())


def compare(piece: str, route: str, ours: Variant, theirs: list[Variant],
            connections: int = 8) -> None:
    """Alternating rounds of every variant; prints the figures and the verdict."""
    variants = [ours, *theirs]
    for variant in variants:
        wrk("warm-up", variant.url, variant.headers, seconds=2, connections=connections)
    for _ in range(ROUNDS):
        for variant in variants:
            variant.measure(connections)
    print(f"\n== {piece}: {route}, {connections} connection(s), {ROUNDS} x {ROUND_SECONDS} s "
          f"rounds")
    for variant in variants:
        result = interleaved(variant.name, variant.rounds)
        per_process = ", ".join(f"{who} {statistics.mean(us):.0f}"
                                for who, us in variant.cpu.items())
        print(f"{result.line()}   CPU/request {variant.cpu_total():5.0f} us ({per_process})")
    mine = interleaved(ours.name, ours.rounds)
    for other in theirs:
        result = interleaved(other.name, other.rounds)
        ratios = [a.rps / b.rps for a, b in zip(ours.rounds, other.rounds, strict=True)]
        faster = statistics.median(ratios)  # a round another process disturbed weighs little
        leaner = other.cpu_total() / ours.cpu_total()
        verdict = "keep" if max(faster, leaner) >= KEEP_AT else "replace"
        print(f"{ours.name} vs {other.name}: throughput x{faster:.2f} (median of rounds "
              f"{', '.join(f'{r:.2f}' for r in ratios)}; of means x{mine.rps / result.rps:.2f}), "
              f"CPU/request x{leaner:.2f}, p50 {mine.p50_ms:.2f} vs {result.p50_ms:.2f} ms, "
              f"p99 {mine.p99_ms:.2f} vs {result.p99_ms:.2f} ms -> {verdict} "
              f"(at >= x{KEEP_AT:.2f})")


def redis_pid() -> int:
    async def ask() -> int:
        redis = Redis.from_url(ServiceSettings().redis_url)
        try:
            return int((await redis.info("server"))["process_id"])
        finally:
            await redis.aclose()
    return asyncio.run(ask())


@contextmanager
def resume_variants(apps: dict[str, tuple[str, tuple[str, ...]]]
                    ) -> Iterator[tuple[str, dict[str, Variant]]]:
    """resume_service processes (name -> app factory, uvicorn options), a resume created in
    them, and a Variant reading it from each."""
    with ExitStack() as running:
        bases = {name: running.enter_context(uvicorn_process(app, RESUME_ENV, *options))
                 for name, (app, options) in apps.items()}
        first = next(iter(bases.values()))[0]
        resume_id = create_resume(first, USER)
        redis = redis_pid()
        variants = {}
        for name, (base, pid) in bases.items():
            url = f"{base}/resume/{resume_id}"
            variants[name] = Variant(name, url, identity(USER, "GET", url),
                                     {"redis": redis, "resume_service": pid})
        yield resume_id, variants


def resume_piece(piece: str, ours: tuple[str, tuple[str, ...]],
                 theirs: dict[str, tuple[str, tuple[str, ...]]],
                 route: str = "cached GET /resume/{id} straight to resume_service") -> None:
    with resume_variants({"ours": ours, **theirs}) as (_, variants):
        mine = variants.pop("ours")
        mine.name = f"ours ({piece})"
        compare(piece, route, mine, list(variants.values()))


def cached_reads() -> None:
    resume_piece("resume_service/cached_reads.py", ("resume_service.app:create_app", ()),
                 {"FastAPI route": ("bench.variants:resume_without_shortcut", ())})


def upstream() -> None:
    gateway_piece("gateway/upstream.py", "gateway.app:create_app",
                  {"aiohttp ClientSession": ("bench.variants:gateway_with_aiohttp", ()),
                   "httpx AsyncClient": ("bench.variants:gateway_with_httpx", ())},
                  connections=(8, 1))


def gateway_piece(piece: str, ours: str, theirs: dict[str, tuple[str, tuple[str, ...]]],
                  connections: tuple[int, ...] = (8,)) -> None:
    """Gateways (ours and each alternative) in front of one resume_service."""
    session_id = asyncio.run(open_session(ServiceSettings().redis_url, USER))
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_id}"}
    with resume_variants({"resume": ("resume_service.app:create_app", ())}) as (
            resume_id, direct), ExitStack() as running:
        behind = direct["resume"]
        env = {**GATEWAY_ENV, "RESUME_SERVICE_URL": behind.url.split("/resume/")[0]}
        variants = []
        for name, (app, options) in {"ours": (ours, ()), **theirs}.items():
            base, pid = running.enter_context(uvicorn_process(app, env, *options))
            variants.append(Variant(f"ours ({piece})" if name == "ours" else name,
                                    f"{base}/api/resume/{resume_id}", cookie,
                                    {**behind.pids, "gateway": pid}))
        for count in connections:
            for variant in variants:
                variant.rounds, variant.cpu = [], {}
            compare(piece, "GET /api/resume/{id} through the gateway", variants[0],
                    variants[1:], count)


PIECES: dict[str, Callable[[], None]] = {
    "cached_reads": cached_reads,
    "upstream": upstream,
}


def main() -> None:
    chosen = sys.argv[1:] or list(PIECES)
    unknown = set(chosen) - set(PIECES)
    if unknown:
        raise SystemExit(f"unknown pieces {sorted(unknown)}; choose among {list(PIECES)}")
    for piece in chosen:
        PIECES[piece]()


if __name__ == "__main__":
    main()
