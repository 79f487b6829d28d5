"""Chaos: PostgreSQL is restarted (`pg_ctl stop -m fast`, a few seconds down, start) under the
whole Procfile stack while 8 writers autosave through the gateway, each its own resume.

The stack is a private one (tests/e2e/private_stack.py) on a cluster of this test's own
(the shared server never goes down). Each writer sends the version it read and a new title
every time; during the outage the only answer allowed is a 503 with Retry-After, after which
the writer reads its resume again and carries on (and a 409 while a save that failed may
have committed: its answer lost, not acknowledged). Afterwards:

- every acknowledged update (a 200 and its version) is in resume_service's log, with the
  title that was sent, and the read model is at each writer's last acknowledged version;
- both replicas (compile.resume_versions, ai.resume_versions: one row per resume and
  version) hold every acknowledged version, indeed every version the log holds;
- nothing was dead-lettered on the replicas' queues;
- every process still runs (honcho stops them all when one exits), is ready again, every
  consumer is back on its queue, and a write after the restart succeeds.

Every finding is gathered before one assertion reports them all, with the writers' answers,
the timeline and what the stack's log says about the outage."""

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from contracts.topology import AI_RESUMES_CONSUMER, COMPILE_RESUMES_CONSUMER, dead_letter_queue
from ops.migrate import upgrade_all
from runtime.db import asyncpg_dsn
from tests.e2e.conftest import (
    EXPECTED_CONSUMERS,
    OPS_PORT_VARIABLES,
    Stack,
    consumer_counts,
    sign_in,
)
from tests.e2e.private_stack import PrivateStack, dead_letters, private_stack, queue_depths
from tests.integration.compile.conftest import resume_document
from tests.integration.runtime.throwaway_postgres import ThrowawayPostgres, throwaway_postgres

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(240)]

WRITERS = 8
WRITE_SECONDS = 15.0
RESTART_AFTER_SECONDS = 4.0  # into the writing
DOWN_SECONDS = 4.0  # between the stop's end and the start
RETRY_AFTER_CAP_SECONDS = 0.5  # a writer waits Retry-After, at most this (to see recovery)
FINAL_WRITE_SECONDS = 10.0
SETTLE_SECONDS = 30.0  # for the outbox and the replicas' queues to drain
READY_SECONDS = 15.0
REPLICAS = {"compile": COMPILE_RESUMES_CONSUMER, "ai": AI_RESUMES_CONSUMER}


# -- the writers -------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """A request that did not succeed: its status (0: no answer) and what came with it."""

    at: float  # seconds since the writing started
    what: str  # "PUT" or "GET"
    status: int
    code: str  # the error code of the body, or the transport error
    retry_after: str | None
    allowed: bool


@dataclass
class Writer:
    """One browser autosaving its own resume. After a failed save it waits (Retry-After,
    capped), reads the resume again once (a failed read leaves it the version it has) and
    saves again. A 409 is allowed only while a failed save may have committed (no 200 and
    no read since): its answer lost, it is a version of the log nobody acknowledged."""

    n: int
    client: httpx.AsyncClient
    resume_id: str
    version: int
    started: float = 0.0
    saves: int = 0
    acked: dict[int, str] = field(default_factory=dict)  # version -> the title sent
    acked_at: dict[int, float] = field(default_factory=dict)
    failures: list[Answer] = field(default_factory=list)
    surprises: list[str] = field(default_factory=list)
    uncertain: bool = False  # a save failed since the last 200 or read

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def title(self) -> str:
        self.saves += 1
        return f"Writer {self.n} save {self.saves}"

    async def save(self) -> bool:
        """One PUT of a new title at the version last read; True when acknowledged."""
        title = self.title()
        try:
            response = await self.client.put(f"/api/resume/update/{self.resume_id}",
                                             json={**resume_document(title=title),
                                                   "version": self.version})
        except httpx.TransportError as exc:
            self._failed(Answer(self.elapsed(), "PUT", 0, repr(exc), None, False))
            return False
        if response.status_code == 200:
            version = response.json()["version"]
            if version != self.version + 1:
                self.surprises.append(f"writer {self.n}: PUT at version {self.version} "
                                      f"answered {version}")
            self.acked[version], self.acked_at[version] = title, self.elapsed()
            self.version, self.uncertain = version, False
            return True
        failure = self._answer("PUT", response)
        if response.status_code == 409:
            self.version = response.json()["error"]["current_version"]
        self._failed(failure)
        return False

    def _failed(self, answer: Answer) -> None:
        self.failures.append(answer)
        self.uncertain = True

    def _answer(self, what: str, response: httpx.Response) -> Answer:
        try:
            code = str(response.json()["error"]["code"])
        except Exception:
            code = response.text[:80]
        retry_after = response.headers.get("retry-after")
        allowed = ((response.status_code == 503 and retry_after is not None)
                   or (response.status_code == 409 and what == "PUT" and self.uncertain))
        return Answer(self.elapsed(), what, response.status_code, code, retry_after, allowed)

    async def pause(self) -> None:
        """What the last failure asks (Retry-After), capped; a short one without it."""
        retry_after = self.failures[-1].retry_after if self.failures else None
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else 0.2
        await asyncio.sleep(min(seconds, RETRY_AFTER_CAP_SECONDS))

    async def reread(self) -> bool:
        """Read the resume again (a save that failed may have committed); True if it
        answered."""
        try:
            response = await self.client.get(f"/api/resume/{self.resume_id}")
        except httpx.TransportError as exc:
            self.failures.append(Answer(self.elapsed(), "GET", 0, repr(exc), None, False))
            return False
        if response.status_code != 200:
            self.failures.append(self._answer("GET", response))
            return False
        self.version, self.uncertain = response.json()["version"], False
        return True

    async def autosave(self, until: float) -> None:
        while time.monotonic() < until:
            if not await self.save():
                await self.pause()
                await self.reread()

    async def final_save(self) -> float | None:
        """A write once the restart is over: seconds it took to get a 200, None if none
        came within FINAL_WRITE_SECONDS."""
        started = time.monotonic()
        while not (await self.reread() and await self.save()):
            if time.monotonic() - started > FINAL_WRITE_SECONDS:
                return None
            await self.pause()
        return time.monotonic() - started


async def writer(stack: Stack, n: int) -> Writer:
    client = stack.client()
    await sign_in(stack, client)
    created = await client.post("/api/resume/create",
                                json=resume_document(title=f"Writer {n} save 0"))
    assert created.status_code == 201, created.text
    body = created.json()
    return Writer(n, client, body["id"], body["version"], acked={1: f"Writer {n} save 0"})


# -- the restart ---------------------------------------------------------------------------

@dataclass
class Timeline:
    started: float = 0.0
    stop_began: float = 0.0
    stopped: float = 0.0
    start_began: float = 0.0
    up: float = 0.0

    def mark(self) -> float:
        return time.monotonic() - self.started

    def __str__(self) -> str:
        return (f"stop at {self.stop_began:.2f} s (down at {self.stopped:.2f} s), start at "
                f"{self.start_began:.2f} s (up at {self.up:.2f} s)")


async def restart(cluster: ThrowawayPostgres, timeline: Timeline) -> None:
    await asyncio.sleep(RESTART_AFTER_SECONDS)
    timeline.stop_began = timeline.mark()
    await asyncio.to_thread(cluster.stop, "fast")
    timeline.stopped = timeline.mark()
    await asyncio.sleep(DOWN_SECONDS)
    timeline.start_began = timeline.mark()
    await asyncio.to_thread(cluster.start)
    timeline.up = timeline.mark()


# -- what the stack holds afterwards ------------------------------------------------------

Versions = dict[str, dict[int, str | None]]  # resume id -> version -> title


async def versions_in(conn: asyncpg.Connection, query: str, ids: list[str]) -> Versions:
    held: Versions = {rid: {} for rid in ids}
    for row in await conn.fetch(query, ids):
        held[row["resume_id"]][row["version"]] = row["title"]
    return held


async def log_versions(conn: asyncpg.Connection, ids: list[str]) -> Versions:
    return await versions_in(
        conn, "SELECT stream_id AS resume_id, stream_version AS version, "
        "payload->'document'->>'title' AS title FROM resume.events "
        "WHERE stream_id = ANY($1::text[])", ids)


async def replica_versions(conn: asyncpg.Connection, schema: str, ids: list[str]) -> Versions:
    return await versions_in(
        conn, f"SELECT resume_id, version, document->>'title' AS title "
        f"FROM {schema}.resume_versions WHERE resume_id = ANY($1::text[])", ids)


def missing(expected: Versions, held: Versions) -> dict[str, list[int]]:
    """Per resume, the versions of `expected` that `held` lacks."""
    gaps = {rid: sorted(set(versions) - set(held.get(rid, {})))
            for rid, versions in expected.items()}
    return {rid: versions for rid, versions in gaps.items() if versions}


async def settle(private: PrivateStack, conn: asyncpg.Connection, ids: list[str]) -> float:
    """Wait (bounded) until the replicas hold every version of the log, or nothing is left
    to deliver them: the outbox empty and the replicas' queues drained. Seconds waited."""
    started = time.monotonic()
    queues = list(REPLICAS.values())
    while time.monotonic() - started < SETTLE_SECONDS:
        expected = await log_versions(conn, ids)
        if not any([missing(expected, await replica_versions(conn, schema, ids))
                    for schema in REPLICAS]):
            break
        outbox = await conn.fetchval("SELECT count(*) FROM resume.outbox")
        depths = await asyncio.to_thread(queue_depths, private.vhost)
        if outbox == 0 and not any(depths.get(q, 0) for q in queues):
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - started


async def unready(stack: Stack) -> dict[str, str]:
    """The ops listeners whose /readyz is not 200 after READY_SECONDS, with their answer."""
    deadline = time.monotonic() + READY_SECONDS
    pending = {variable: "" for variable in OPS_PORT_VARIABLES}
    async with httpx.AsyncClient(timeout=5) as client:
        while pending and time.monotonic() < deadline:
            for variable in list(pending):
                try:
                    response = await client.get(f"{stack.url_of(variable)}/readyz")
                except httpx.TransportError as exc:
                    pending[variable] = repr(exc)
                    continue
                if response.status_code == 200:
                    del pending[variable]
                else:
                    pending[variable] = response.text[:200]
            if pending:
                await asyncio.sleep(0.5)
    return pending


# lines of the stack's log worth reporting: a process that exited, tracebacks, a consumer
# retrying or dead-lettering, a relay starting over
LOG_SIGNS = {
    "exited": re.compile(r"stopped \(rc="),
    "traceback": re.compile(r"Traceback \(most recent call last\)"),
    "consumer retries": re.compile(r"consumer \S+ failed on"),
    "dead-lettered": re.compile(r"dead-lettered message"),
    "relay retries": re.compile(r"outbox relay for \S+: .*retrying"),
    "relay leader": re.compile(r"outbox relay for \S+ is the leader"),
    "503 logged": re.compile(r"database unavailable during"),
    "errors": re.compile(r'"level":\s*"ERROR"|\bERROR\b'),
}


def log_signs(log: Path) -> tuple[Counter[str], dict[str, list[str]]]:
    """How often each sign appears in the log, and its first lines (with the process)."""
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for line in log.read_text(errors="replace").splitlines():
        for sign, pattern in LOG_SIGNS.items():
            if pattern.search(line):
                counts[sign] += 1
                if len(examples.setdefault(sign, [])) < 4:
                    examples[sign].append(line[:300])
    return counts, examples


# -- the test ------------------------------------------------------------------------------

@pytest.fixture
def cluster() -> Iterator[ThrowawayPostgres]:
    with throwaway_postgres() as pg:
        with ThreadPoolExecutor(1) as thread:  # upgrade_all runs asyncio.run
            thread.submit(upgrade_all, pg.url).result()
        yield pg


@pytest.fixture
def private(cluster: ThrowawayPostgres, tmp_path: Path) -> Iterator[PrivateStack]:
    with private_stack(cluster.url, tmp_path) as running:
        yield running


async def test_postgres_restarted_under_8_writers_loses_no_acknowledged_update(
        cluster: ThrowawayPostgres, private: PrivateStack) -> None:
    stack = private.stack
    writers = [await writer(stack, n) for n in range(WRITERS)]  # sign-ins one at a time
    ids = [w.resume_id for w in writers]
    timeline = Timeline(started=time.monotonic())
    for w in writers:
        w.started = timeline.started
    try:
        until = timeline.started + WRITE_SECONDS
        async with asyncio.TaskGroup() as group:  # a failure cancels the rest
            group.create_task(restart(cluster, timeline))
            for w in writers:
                group.create_task(w.autosave(until))
        final = dict(zip([w.n for w in writers],
                         await asyncio.gather(*(w.final_save() for w in writers)), strict=True))
    finally:
        for w in writers:
            await w.client.aclose()

    problems: list[str] = []
    conn = await asyncpg.connect(asyncpg_dsn(stack.database_url))
    try:
        settled = await settle(private, conn, ids)
        log = await log_versions(conn, ids)
        read_model = {row["id"]: row["version"] for row in await conn.fetch(
            "SELECT id, version FROM resume.resumes WHERE id = ANY($1::text[])", ids)}
        replicas = {schema: await replica_versions(conn, schema, ids) for schema in REPLICAS}
        outbox = await conn.fetchval("SELECT count(*) FROM resume.outbox")
    finally:
        await conn.close()
    acked: Versions = {w.resume_id: dict(w.acked) for w in writers}

    # every acknowledged update is in the log, as it was sent, and the read model is at the last
    if lost := missing(acked, log):
        problems.append(f"acknowledged versions missing from resume.events: {lost}")
    changed = {(w.n, v): (title, log[w.resume_id].get(v)) for w in writers
               for v, title in w.acked.items()
               if v in log[w.resume_id] and log[w.resume_id][v] != title}
    if changed:
        problems.append(f"acknowledged versions stored with another title: {changed}")
    behind = {w.n: (read_model.get(w.resume_id), max(w.acked)) for w in writers
              if read_model.get(w.resume_id) != max(w.acked)}
    if behind:
        problems.append(f"read model not at the last acknowledged version (model, acked): "
                        f"{behind}")
    unacked = {w.n: sorted(set(log[w.resume_id]) - set(w.acked)) for w in writers
               if set(log[w.resume_id]) - set(w.acked)}  # committed, the answer lost: allowed

    # both replicas hold every acknowledged version, indeed every version of the log
    for schema, held in replicas.items():
        if gaps := missing(acked, held):
            problems.append(f"{schema}.resume_versions lacks acknowledged versions "
                            f"({sum(map(len, gaps.values()))}): {gaps}")
        elif gaps := missing(log, held):
            problems.append(f"{schema}.resume_versions lacks versions of the log: {gaps}")
    if outbox:
        problems.append(f"resume.outbox still holds {outbox} events after {settled:.0f} s")

    # nothing dead-lettered, every process up, ready and consuming again
    for queue in REPLICAS.values():
        if dead := await dead_letters(stack.amqp_url, dead_letter_queue(queue)):
            versions = sorted((d.stream_id[:8], d.stream_version) for d in dead)
            problems.append(f"{len(dead)} dead letters in {dead_letter_queue(queue)}: "
                            f"{versions[:40]}; first error: {dead[0].error[:300]}")
    if private.exited() is not None:
        problems.append(f"honcho exited ({private.exited()}): a process of the stack stopped")
    else:
        if not_ready := await unready(stack):
            problems.append(f"ops listeners not ready after {READY_SECONDS:.0f} s: {not_ready}")
        counts = await consumer_counts(stack.amqp_url, list(EXPECTED_CONSUMERS))
        if short := {q: n for q, n in counts.items() if n < EXPECTED_CONSUMERS[q]}:
            problems.append(f"consumers not back on their queues (queue: consumers): {short}")
    # the writing did straddle the outage
    acks = [t for w in writers for t in w.acked_at.values()]
    if not any(t < timeline.stop_began for t in acks) or not any(t > timeline.up for t in acks):
        problems.append("the writers were not acknowledged both before the stop and after "
                        "the start: the test did not write through the restart")
    if failed_finals := [n for n, seconds in final.items() if seconds is None]:
        problems.append(f"no write succeeded after the restart for writers {failed_finals}")

    # the answers during the outage: 503 with Retry-After only
    failures = [f for w in writers for f in w.failures]
    if bad := [f for f in failures if not f.allowed]:
        kinds = Counter((f.what, f.status, f.code[:60], f.retry_after) for f in bad)
        problems.append(f"answers other than 503 with Retry-After (or a 409 after a failed "
                        f"save): {dict(kinds)}; first at {bad[0].at:.2f} s")
    if surprises := [s for w in writers for s in w.surprises]:
        problems.append(f"unexpected acknowledgements: {surprises[:10]}")

    signs, examples = log_signs(stack.log)
    acks_after = [t for t in acks if t > timeline.up]
    seen = Counter((f.what, f.status, f.code[:60]) for f in failures)
    failing = [f.at for f in failures]
    summary = "\n".join([
        f"timeline: {timeline}; settled in {settled:.1f} s",
        f"acknowledged updates: {sum(len(w.acked) - 1 for w in writers)} "
        f"(attempts {sum(w.saves for w in writers)}); "
        f"first after the restart at {min(acks_after, default=float('nan')):.2f} s; "
        f"final writes took {[round(s, 2) if s is not None else None for s in final.values()]}",
        f"failed requests: {dict(seen)}"
        + (f", from {min(failing):.2f} s to {max(failing):.2f} s" if failing else ""),
        f"committed without an acknowledgement (allowed): {unacked}",
        f"replicas (versions held, of the log's {sum(map(len, log.values()))}): "
        f"{ {schema: sum(map(len, held.values())) for schema, held in replicas.items()} }",
        f"stack log: {dict(signs)}",
        *(f"  {sign}: {line}" for sign, lines in examples.items()
          if sign not in ("relay leader", "503 logged") for line in lines[:2]),
    ])
    print(summary)
    assert not problems, "\n".join(["", *problems, "--", summary])
