"""The write path through the whole stack: autosaves through the gateway with every process of
the Procfile running (relays, both replicas' consumers, the workers), as `make up` runs it.

Run with the local services up: ``.venv/bin/python bench/write_path.py [REV]``. Each writer
signs in through the gateway (the development sign-in), creates its own resume (a realistic
five-section document, ~5 KB) and saves it again and again for a fixed time, as an editor
does: the document it read (ids included) with its title changed, and the version it read
(wrk with a Lua script: a C client, so the load generator takes little of the machine's two
cores). 1 writer, then 8.

For each run it prints updates/s, p50 and p99, and the CPU each process spent per acknowledged
update (from /proc/<pid>/stat, PostgreSQL, RabbitMQ and Redis included) and their sum. The CPU
window runs from the first request until both replicas hold every acknowledged version and
their queues are empty, so work a consumer leaves for later is counted. Afterwards it checks
that every acknowledged version reached both replicas (compile_service's and ai_service's).

With REV, that commit's tree (exported with `git archive`) runs as a second stack, on its own
database, vhost and Redis db, in alternating rounds with this one (one stack up at a time), so
the drift of this shared machine falls on both; it prints each figure of both and this tree's
over REV's. ``BENCH_ROUNDS`` (default 3) and
``BENCH_SECONDS`` (default 6) set the rounds and each run's length."""

import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx

from bench.before_after import exported
from bench.common import ROOT, duration_ms
from bench.stack import Stack, drop_databases, procfile_stack, server_cpu
from runtime.db import asyncpg_dsn

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "6"))
WRITERS = (1, 8)
REPLICAS = ("compile", "ai")
CATCH_UP_TIMEOUT = 120.0


def document(title: str) -> dict[str, object]:
    """A realistic resume: contact with links, a summary and four sections of items."""
    return {
        "title": title, "template": "classic",
        "contact": {"name": "Grace Hopper", "email": "grace@example.com",
                    "phone": "+1 555 0100", "location": "Arlington, VA",
                    "links": [{"label": "GitHub", "url": "https://github.com/grace"},
                              {"label": "Site", "url": "https://grace.example.com"}]},
        "sections": [
            {"title": "Summary", "kind": "summary", "items": [{"description": (
                "Computer scientist and naval officer who built the first compiler and "
                "made programming languages read like English.")}]},
            *({"title": title, "kind": kind, "items": [
                {"title": f"Role {i}", "subtitle": "United States Navy", "location": "DC",
                 "start_date": "1960", "end_date": "1970",
                 "bullets": [f"Led work {b} on COBOL with measurable impact on adoption"
                             for b in range(4)]}
                for i in range(3)]}
              for title, kind in (("Experience", "experience"), ("Projects", "projects"),
                                  ("Education", "education"), ("Awards", "awards"))),
        ],
    }


MARK = "__AUTOSAVE_COUNTER__"

LUA = r"""
-- one thread per writer, each with its own connection, session and resume (set by setup)
local threads, counter = {}, 0
function setup(thread)
  local w = #threads + 1
  thread:set("writer", w)
  table.insert(threads, thread)
end
function init(args)
  local mine = writers[writer]
  resume_id, cookie, version = mine[1], mine[2], mine[3]
  body_head, body_mid, body_tail = mine[4], mine[5], mine[6]
  path = "/api/resume/update/" .. resume_id
end
function request()
  counter = counter + 1
  local body = body_head .. version .. body_mid .. counter .. body_tail
  return wrk.format("PUT", path, {["Cookie"] = cookie, ["Origin"] = origin,
                                  ["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  if status == 200 then
    version = tonumber(body:match('"version":(%d+)'))
  end
end
"""


def lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def lua_script(writers: list["Writer"], origin: str) -> str:
    """The script, with each writer's resume, session, version and body (split around the
    places where the version and the counter go)."""
    rows = []
    for w in writers:
        body = json.dumps({"version": 987654321, **w.document, "title": f"Autosave {MARK}"},
                          separators=(",", ":"))
        head, rest = body.split("987654321", 1)
        mid, tail = rest.split(MARK, 1)
        rows.append(f'{{"{w.resume_id}", "{w.cookie}", {w.version}, {lua_string(head)}, '
                    f"{lua_string(mid)}, {lua_string(tail)}}}")
    return f"writers = {{{', '.join(rows)}}}\norigin = {lua_string(origin)}\n{LUA}"


@dataclass
class Writer:
    resume_id: str
    cookie: str
    version: int
    document: dict[str, object]  # as the service gave it back: ids of sections and items


async def sign_in_and_create(stack: Stack, n: int) -> Writer:
    async with httpx.AsyncClient(base_url=stack.gateway, headers={"Origin": stack.gateway},
                                 timeout=30) as client:
        signed = await client.post("/api/auth/dev-login",
                                   json={"email": f"writer{n}-{os.getpid()}@bench.example"})
        signed.raise_for_status()
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        created = await client.post("/api/resume/create", json=document(f"Writer {n}"))
        created.raise_for_status()
        body = created.json()
        read = {k: v for k, v in body.items()
                if k not in ("id", "version", "created_at", "updated_at")}
        return Writer(body["id"], cookie, body["version"], read)


@dataclass
class Run:
    updates: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms: dict[str, float]  # per acknowledged update, by process
    catch_up_s: float

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu_ms.values())


def wrk_writers(stack: Stack, writers: list[Writer], seconds: int) -> tuple[int, float, float]:
    """Drive the writers for `seconds`; (acknowledged updates, p50 ms, p99 ms)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(lua_script(writers, stack.gateway))
    n = len(writers)
    try:
        output = subprocess.run(
            ["wrk", f"-t{n}", f"-c{n}", f"-d{seconds}s", "--latency", "-s", handle.name,
             stack.gateway], capture_output=True, text=True, check=True,
            timeout=seconds + 60).stdout
    finally:
        os.unlink(handle.name)
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if failed or "Socket errors" in output:
        raise RuntimeError(f"{stack.name}: failed requests\n{output}")
    updates = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    p50 = duration_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = duration_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    return updates, p50, p99


async def versions_of(stack: Stack, writers: list[Writer]) -> dict[str, int]:
    """Each writer's resume version as resume_service's read model has it."""
    conn = await asyncpg.connect(asyncpg_dsn(stack.env["DATABASE_URL"]))
    try:
        rows = await conn.fetch("SELECT id, version FROM resume.resumes WHERE id = ANY($1)",
                                [w.resume_id for w in writers])
    finally:
        await conn.close()
    return {row["id"]: row["version"] for row in rows}


async def settled_versions(stack: Stack, writers: list[Writer]) -> dict[str, int]:
    """The writers' versions once no update is in flight any more: wrk stops without waiting
    for its last requests, which may still commit, and a writer that started its next run
    from the version before would meet nothing but 409s."""
    versions = await versions_of(stack, writers)
    while True:
        await asyncio.sleep(0.3)
        if (again := await versions_of(stack, writers)) == versions:
            return versions
        versions = again


async def replica_gaps(stack: Stack, expected: dict[str, int]) -> dict[str, int]:
    """Per replica, how many acknowledged versions it lacks (0: it holds every one)."""
    conn = await asyncpg.connect(asyncpg_dsn(stack.env["DATABASE_URL"]))
    try:
        gaps = {}
        for schema in REPLICAS:
            held = await conn.fetchval(
                f"SELECT count(*) FROM {schema}.resume_versions r JOIN unnest($1::text[], "
                f"$2::int[]) AS e(id, version) ON r.resume_id = e.id "
                f"AND r.version <= e.version", list(expected), list(expected.values()))
            gaps[schema] = sum(expected.values()) - held
        return gaps
    finally:
        await conn.close()


async def wait_caught_up(stack: Stack, expected: dict[str, int]) -> None:
    deadline = time.monotonic() + CATCH_UP_TIMEOUT
    while any((gaps := await replica_gaps(stack, expected)).values()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{stack.name}: replicas lack versions after "
                               f"{CATCH_UP_TIMEOUT:.0f} s: {gaps}\n{stack.log_problems()}")
        await asyncio.sleep(0.05)


def measured_run(stack: Stack, writers: list[Writer]) -> Run:
    before = {**stack.cpu(), **server_cpu()}
    started = time.monotonic()
    updates, p50, p99 = wrk_writers(stack, writers, SECONDS)
    ended = time.monotonic()
    versions = asyncio.run(settled_versions(stack, writers))
    asyncio.run(wait_caught_up(stack, versions))
    caught_up = time.monotonic()
    after = {**stack.cpu(), **server_cpu()}
    for writer in writers:
        writer.version = versions[writer.resume_id]
    cpu = {name: (after[name] - before.get(name, 0.0)) * 1000 / updates for name in after}
    return Run(updates, ended - started, p50, p99, cpu, caught_up - ended)


@dataclass
class Series:
    runs: dict[int, list[Run]] = field(default_factory=lambda: {n: [] for n in WRITERS})

    def summary(self, n: int) -> dict[str, float]:
        runs = self.runs[n]
        return {"rate": statistics.mean(r.rate for r in runs),
                "p50": statistics.median(r.p50_ms for r in runs),
                "p99": max(r.p99_ms for r in runs),
                "cpu": statistics.median(r.cpu_total for r in runs)}


def report(name: str, series: Series) -> None:
    for n in WRITERS:
        s, runs = series.summary(n), series.runs[n]
        print(f"{name:>7} {n} writer{'s' if n > 1 else ' '}: {s['rate']:7.1f} updates/s   "
              f"p50 {s['p50']:6.2f} ms   p99 {s['p99']:7.2f} ms   "
              f"CPU {s['cpu']:6.2f} ms/update (sum)   catch-up "
              f"{max(r.catch_up_s for r in runs):.2f} s")
        names = sorted(runs[0].cpu_ms, key=lambda k: -runs[0].cpu_ms[k])
        parts = [f"{k} {statistics.median(r.cpu_ms.get(k, 0.0) for r in runs):.2f}"
                 for k in names if max(r.cpu_ms.get(k, 0.0) for r in runs) >= 0.005]
        print(f"{'':>9}CPU ms/update by process: {', '.join(parts)}")


def compare(after: Series, before: Series) -> None:
    for n in WRITERS:
        a, b = after.summary(n), before.summary(n)
        ratios = [x.rate / y.rate for x, y in zip(after.runs[n], before.runs[n], strict=True)]
        print(f"{n} writer{'s' if n > 1 else ''}: throughput x{statistics.median(ratios):.2f} "
              f"(rounds {', '.join(f'{r:.2f}' for r in ratios)}), p50 x{a['p50'] / b['p50']:.2f}, "
              f"CPU/update x{a['cpu'] / b['cpu']:.2f} ({b['cpu']:.1f} -> {a['cpu']:.1f} ms)")


def targets(series: Series) -> None:
    one, eight = series.summary(1), series.summary(8)
    print(f"targets: CPU/update {eight['cpu']:.2f} ms (<= 7), 8 writers {eight['rate']:.0f} "
          f"updates/s (>= 260), 1 writer p50 {one['p50']:.2f} ms (<= 8)")


def run_rounds(trees: dict[str, Path], work: Path) -> tuple[dict[str, Series], list[str]]:
    """Each round starts each tree's stack in turn (the order alternating from one round to
    the next), warms it up, runs 1 and 8 writers and stops it: two whole stacks at once would
    need more PostgreSQL connections than a default server allows. The writers, their
    sessions and resumes are made once and outlive the restarts (database and Redis db are
    kept); after the last round, every acknowledged version must be in both replicas."""
    results = {name: Series() for name in trees}
    writers: dict[str, dict[int, list[Writer]]] = {}
    gaps = []
    order = list(trees)
    for round_number in range(ROUNDS):
        for name in order if round_number % 2 == 0 else order[::-1]:
            with procfile_stack(stack_name(name), trees[name], work / name,
                                7 + order.index(name)) as stack:
                if name not in writers:
                    writers[name] = {n: [asyncio.run(sign_in_and_create(stack, i))
                                         for i in range(n)] for n in WRITERS}
                measured_run(stack, writers[name][8])  # warm-up: connections, plans, caches
                for n in WRITERS:
                    results[name].runs[n].append(measured_run(stack, writers[name][n]))
                if round_number == ROUNDS - 1:
                    everyone = [w for n in WRITERS for w in writers[name][n]]
                    missing = asyncio.run(replica_gaps(
                        stack, asyncio.run(versions_of(stack, everyone))))
                    gaps += [f"{name}: {missing}"] if any(missing.values()) else []
    return results, gaps


def stack_name(tree: str) -> str:
    return f"write_{tree}_{os.getpid()}"  # its own database and vhost, dropped at the end


def measured_trees(rev: str | None, prefix: str = "bench-write-") -> tuple[dict[str, Any], Any]:
    """This tree's stack (`after`) and, with `rev`, that commit's (`before`), in alternating
    rounds; each tree's figures printed, its databases dropped. The results and the gaps."""
    with tempfile.TemporaryDirectory(prefix=prefix) as work, contextlib.ExitStack() as running:
        trees = {"after": ROOT}
        if rev:
            trees["before"] = running.enter_context(exported(rev))
        for name in trees:
            (Path(work) / name).mkdir()
        try:
            results, gaps = run_rounds(trees, Path(work))
        finally:
            asyncio.run(drop_databases([stack_name(name) for name in trees]))
    for name, series in results.items():
        report(name, series)
    return results, gaps


def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 else None
    results, gaps = measured_trees(rev)
    if rev:
        print(f"this tree over {rev}:")
        compare(results["after"], results["before"])
    targets(results["after"])
    assert not gaps, f"replicas lack acknowledged versions: {gaps}"
    print("every acknowledged version is in both replicas")

if __name__ == "__main__":
    main()
