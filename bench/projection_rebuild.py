"""Projection rebuild rate: events per second of `rb projections rebuild resume_service
resumes` over a store of >= 50,000 resume events.

Runs in a scratch database of its own (BENCH_DATABASE_URL, default
postgresql+asyncpg://postgres@127.0.0.1:5432/resumebuilder_bench; its name must end in
`_bench`), migrated with resume_service's migrations and emptied first, so it never touches
real data. RESUMES resumes get EVENTS_PER_RESUME events each (one ResumeCreated, then
ResumeUpdated with a ~3 KB document), bulk-loaded with COPY in two orders, from the same
generated events:

- editing sessions: a resume's edits come in runs of SESSION_EDITS saves (as an editor that
  autosaves produces them), runs of different resumes interleaved at random;
- round-robin: every resume's version n before any resume's version n+1, so every batch
  touches as many different resumes as it can: the worst case for batching.

Figures, all measured in this run:
- baseline: a plain keyset-paged SELECT scan of the same events, decoded into envelopes,
  nothing applied (the read ceiling);
- rebuild (the CLI's own code, batched apply): rate, p50/p99 batch latency, ratio to baseline;
- per-event apply (no batching) of the first PER_EVENT_SAMPLE events, for reference.

Run: ``.venv/bin/python bench/projection_rebuild.py`` (about 40 s on 2 cores).
"""

import asyncio
import gc
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts.resume_events import ResumeCreated, ResumeUpdated
from ops.cli import store
from ops.cli.common import database
from ops.cli.rebuild import DEFAULT_BATCH, Rebuilder, RebuildReport, bulk_allocation
from resume_service.projections import PROJECTIONS
from resume_service.registration import REGISTRATION as RESUME
from resume_service.tables import SCHEMA
from runtime.db import asyncpg_dsn
from runtime.migrations import upgrade
from runtime.projection import Projection

URL = os.environ.get("BENCH_DATABASE_URL",
                     "postgresql+asyncpg://postgres@127.0.0.1:5432/resumebuilder_bench")
RESUMES = 2_000
EVENTS_PER_RESUME = 26  # 52,000 events
SESSION_EDITS = 5
PER_EVENT_SAMPLE = 3_000
BATCH = int(os.environ.get("BENCH_BATCH", DEFAULT_BATCH))
COLUMNS = ["event_id", "stream_id", "stream_version", "event_type", "schema_version",
           "payload", "metadata"]
Event = tuple[Any, ...]


def document(resume: int, version: int) -> dict[str, object]:
    item = {"id": str(uuid.UUID(int=resume * 1000 + version)), "title": "Engineer",
            "subtitle": "Example Corp", "location": "Berlin", "start_date": "2020",
            "end_date": "2024", "description": "Built and ran services. " * 4,
            "bullets": [f"Shipped feature {n} in revision {version}" for n in range(4)]}
    sections = [{"id": str(uuid.UUID(int=resume * 10 + s)), "title": title, "kind": kind,
                 "items": [item] * 2}
                for s, (title, kind) in enumerate([("Experience", "experience"),
                                                   ("Education", "education"),
                                                   ("Projects", "projects")])]
    return {"title": f"Resume {resume} rev {version}", "template": "classic",
            "contact": {"name": f"Person {resume}", "email": f"p{resume}@example.com",
                        "phone": "", "location": "Berlin", "links": []},
            "sections": sections}


def streams() -> list[list[Event]]:
    """Each resume's events in version order."""
    result = []
    for resume in range(RESUMES):
        stream, owner = str(uuid.UUID(int=resume + 1)), f"user-{resume % 300}"
        events = []
        for version in range(1, EVENTS_PER_RESUME + 1):
            payload: dict[str, Any] = {"resume_id": stream, "owner_id": owner,
                                       "document": document(resume, version)}
            if version > 1:
                payload["restored_from"] = None
            meta = {"user_id": owner, "correlation_id": uuid.uuid4().hex, "causation_id": None}
            events.append((uuid.uuid4(), stream, version,
                           (ResumeCreated if version == 1 else ResumeUpdated).event_type, 1,
                           orjson.dumps(payload).decode(), orjson.dumps(meta).decode()))
        result.append(events)
    return result


def round_robin(all_streams: list[list[Event]]) -> list[Event]:
    return [s[v] for v in range(EVENTS_PER_RESUME) for s in all_streams]


def editing_sessions(all_streams: list[list[Event]]) -> list[Event]:
    """Runs of SESSION_EDITS consecutive events of one resume, runs interleaved at random
    (a resume's runs stay in order)."""
    rng = random.Random(7)
    runs = [[s[i:i + SESSION_EDITS] for i in range(0, len(s), SESSION_EDITS)]
            for s in all_streams]
    pending = [list(reversed(r)) for r in runs]
    ordered: list[Event] = []
    while pending:
        index = rng.randrange(len(pending))
        ordered += pending[index].pop()
        if not pending[index]:
            pending[index] = pending[-1]
            pending.pop()
    return ordered


async def create_database() -> None:
    if not URL.rsplit("/", 1)[1].endswith("_bench"):
        raise SystemExit(f"refusing to use {URL}: the database name must end in _bench")
    dsn = asyncpg_dsn(URL)
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        name = dsn.rsplit("/", 1)[1]
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await asyncio.to_thread(upgrade, RESUME.migrations, URL)


async def load(events: list[Event]) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(URL))
    try:
        await conn.execute(f"TRUNCATE {SCHEMA}.events, {SCHEMA}.resumes CASCADE; "
                           f"DROP TABLE IF EXISTS {SCHEMA}.projection_checkpoints")
        await conn.copy_records_to_table("events", schema_name=SCHEMA, records=events,
                                         columns=COLUMNS)
        await conn.execute(f"VACUUM ANALYZE {SCHEMA}.events")
    finally:
        await conn.close()


async def scan_rate(types: frozenset[str]) -> float:
    """The same reads as the rebuild, under the same garbage-collector regime."""
    async with database(URL) as engine, engine.connect() as conn:
        started, after, seen = time.perf_counter(), 0, 0
        with bulk_allocation():
            while batch := await store.read_from(conn, SCHEMA, after, BATCH, types):
                after = batch[-1].global_position or after
                seen += len(batch)
                gc.collect(1)
        return seen / (time.perf_counter() - started)


async def rebuild(projection: Projection) -> RebuildReport:
    async with database(URL) as engine:
        return await Rebuilder(engine, SCHEMA, BATCH).rebuild(projection, restart=True)


async def per_event_rate(projection: Projection) -> float:
    async with database(URL) as engine:
        async with engine.connect() as conn:
            envelopes = await store.read_from(conn, SCHEMA, 0, PER_EVENT_SAMPLE,
                                              projection.event_types)
        async with AsyncSession(engine) as session, session.begin():
            await projection.reset(session)
            started = time.perf_counter()
            for envelope in envelopes:
                await projection.apply(session, envelope)
            rate = len(envelopes) / (time.perf_counter() - started)
            await session.rollback()
        return rate


def report_line(label: str, report: RebuildReport, baseline: float) -> None:
    batches = sorted(s * 1000 for s in report.batch_seconds)
    p99 = batches[min(len(batches) - 1, int(len(batches) * 0.99))]
    print(f"rebuild, {label}: {report.applied:,} events in {report.seconds:.2f} s = "
          f"{report.rate:,.0f} events/s (target >= 10,000); batch of {BATCH}: "
          f"p50 {statistics.median(batches):.0f} ms, p99 {p99:.0f} ms; "
          f"ratio to scan baseline {report.rate / baseline:.2f}")


async def main() -> None:
    started = time.perf_counter()
    projection = PROJECTIONS[0]
    await create_database()
    all_streams = streams()
    total = RESUMES * EVENTS_PER_RESUME
    print(f"{total:,} events: {RESUMES:,} resumes x {EVENTS_PER_RESUME}, "
          f"~{len(all_streams[0][1][5]) // 100 / 10:.1f} KB payloads")

    await load(editing_sessions(all_streams))
    baseline = await scan_rate(projection.event_types)
    print(f"baseline, plain SELECT scan of the same events: {baseline:,.0f} events/s")
    sessions = await rebuild(projection)
    report_line(f"editing sessions of {SESSION_EDITS}", sessions, baseline)
    one_by_one = await per_event_rate(projection)

    await load(round_robin(all_streams))
    worst = await rebuild(projection)
    report_line("round-robin (worst case)", worst, baseline)
    print(f"reference, per-event apply without batching ({PER_EVENT_SAMPLE:,} events): "
          f"{one_by_one:,.0f} events/s")
    assert sessions.applied == worst.applied == total
    print(f"bench time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
