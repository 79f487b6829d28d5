"""Job streams written before the common job shape (tests/integration/fixtures/
job_events_0001.json holds events as the code of 5a46ad0 wrote them) still fold, rebuild and
answer: the migrations carry their read-model rows over, and rebuilding the `jobs` tables
from the stored events (read through contracts.upcasting) gives exactly those rows."""

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ai_service.projections import job_records as rating_records
from ai_service.registration import REGISTRATION as AI
from ai_service.tables import event_tables as ai_events
from compile_service.projections import job_records as compile_records
from compile_service.registration import REGISTRATION as COMPILE
from compile_service.tables import event_tables as compile_events
from runtime.db import asyncpg_dsn, make_engine, make_sessionmaker
from runtime.eventstore import EventStore
from runtime.jobs import JobRecords, fold
from runtime.migrations import ensure_database, upgrade
from tests.conftest import POSTGRES_URL, drop_database

FIXTURE = Path(__file__).parent.parent / "fixtures" / "job_events_0001.json"
STREAMS: dict[str, dict[str, list[dict[str, Any]]]] = json.loads(FIXTURE.read_text())["streams"]
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
COLUMNS = ("job_id", "kind", "stream_version", "owner_id", "resume_id", "status", "attempts",
           "reuse_key", "input", "result", "error_code", "error", "requested_at", "started_at",
           "finished_at")


@pytest.fixture(scope="module")
def history_url() -> Iterator[str]:
    """A database at the revisions before the common job shape, holding the old streams and
    the rows the old projections wrote for them; then upgraded to head."""
    url = f"{POSTGRES_URL}/job_history_{uuid4().hex[:8]}"
    asyncio.run(ensure_database(url))
    try:
        upgrade(COMPILE.migrations, url, "0001")
        upgrade(AI.migrations, url, "0002")
        asyncio.run(_write_old_history(url))
        upgrade(COMPILE.migrations, url, "head")
        upgrade(AI.migrations, url, "head")
        yield url
    finally:
        asyncio.run(drop_database(url))


def _at(version: int) -> datetime:
    return T0 + timedelta(seconds=version)


async def _write_old_history(url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for schema, streams in STREAMS.items():
            for stream_id, events in streams.items():
                for version, event in enumerate(events, start=1):
                    await conn.execute(
                        f"INSERT INTO {schema}.events (event_id, stream_id, stream_version, "
                        "event_type, schema_version, payload, metadata, recorded_at) "
                        "VALUES ($1, $2, $3, $4, $5, $6::jsonb, '{}'::jsonb, $7)",
                        uuid4(), stream_id, version, event["event_type"],
                        event["schema_version"], json.dumps(event["payload"]), _at(version))
        for stream_id, events in STREAMS["ai"].items():
            await _old_rating_row(conn, stream_id, events)
        for stream_id, events in STREAMS["compile"].items():
            await _old_compile_row(conn, stream_id, events)
    finally:
        await conn.close()


async def _old_rating_row(conn: asyncpg.Connection, job_id: str,
                          events: list[dict[str, Any]]) -> None:
    """The `ai.ratings` row of revision 0002, as ai_service.projections then wrote it."""
    request, last = events[0]["payload"], events[-1]
    status = {"RatingRequested": "pending", "RatingCompleted": "completed",
              "RatingFailed": "failed"}[last["event_type"]]
    end = last["payload"]
    await conn.execute(
        "INSERT INTO ai.ratings (job_id, stream_version, owner_id, resume_id, resume_version, "
        "content_hash, model, prompt_version, status, rating, error_code, error, model_calls, "
        "requested_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, "
        "$11, $12, $13, $14, $15)",
        job_id, len(events), request["owner_id"], request["resume_id"],
        request["resume_version"], request["content_hash"], request["model"],
        request["prompt_version"], status,
        json.dumps(end["rating"]) if status == "completed" else None, end.get("code"),
        end.get("reason"), end.get("model_calls", 0), _at(1),
        None if status == "pending" else _at(len(events)))


async def _old_compile_row(conn: asyncpg.Connection, job_id: str,
                           events: list[dict[str, Any]]) -> None:
    """The `compile.jobs` row of revision 0001, as compile_service.projections then wrote
    it."""
    request = events[0]["payload"]
    started = [(v, e) for v, e in enumerate(events, 1) if e["event_type"] == "CompileStarted"]
    finished = events[-1]["payload"] if events[-1]["event_type"] == "CompileFinished" else {}
    status = finished.get("outcome") or ("running" if started else "queued")
    await conn.execute(
        "INSERT INTO compile.jobs (job_id, stream_version, owner_id, resume_id, resume_version, "
        "template, engine, title, status, attempts, artifact_key, cached, engine_ms, error, "
        "requested_at, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
        "$10, $11, $12, $13, $14, $15, $16, $17)",
        job_id, len(events), request["owner_id"], request["resume_id"],
        request["resume_version"], request["template"], request["engine"], request["title"],
        status, started[-1][1]["payload"]["attempt"] if started else 0,
        finished.get("artifact_key"), finished.get("cached", False), finished.get("engine_ms"),
        finished.get("error"), _at(1), _at(started[-1][0]) if started else None,
        _at(len(events)) if finished else None)


async def _rows(engine: AsyncEngine, records: JobRecords) -> list[tuple[Any, ...]]:
    columns = [records.table.c[name] for name in COLUMNS]
    async with engine.connect() as conn:
        result = await conn.execute(records.table.select().with_only_columns(*columns)
                                    .order_by(records.table.c.job_id))
        return [tuple(row) for row in result]


async def _rebuild(engine: AsyncEngine, records: JobRecords, store: EventStore) -> None:
    async with make_sessionmaker(engine).begin() as session:
        await records.reset(session)
        for envelope in await store.read_all(session):
            await records.apply_envelope(session, envelope)


@pytest.mark.parametrize(("records", "tables", "schema"), [
    (rating_records, ai_events, "ai"), (compile_records, compile_events, "compile"),
], ids=["ratings", "compiles"])
async def test_a_rebuild_from_the_old_streams_gives_the_migrated_rows(
        history_url: str, records: JobRecords, tables: Any, schema: str) -> None:
    engine = make_engine(history_url)
    try:
        migrated = await _rows(engine, records)
        assert len(migrated) == len(STREAMS[schema])
        await _rebuild(engine, records, EventStore(tables, schema))
        assert await _rows(engine, records) == migrated
    finally:
        await engine.dispose()


async def test_the_old_streams_fold_to_the_common_statuses(history_url: str) -> None:
    engine = make_engine(history_url)
    try:
        async with make_sessionmaker(engine)() as session:
            stored = {schema: await EventStore(tables, schema).read_all(session)
                      for schema, tables in (("ai", ai_events), ("compile", compile_events))}
    finally:
        await engine.dispose()
    kinds = {"ai": rating_records.kind, "compile": compile_records.kind}
    statuses = {}
    for schema, envelopes in stored.items():
        for job_id in STREAMS[schema]:
            events = [kinds[schema].events[e.event_type].model_validate(e.payload)
                      for e in envelopes if e.stream_id == job_id]
            statuses[job_id] = fold(job_id, events).status
    assert statuses == {
        "rating-succeeded": "succeeded", "rating-failed": "failed", "rating-pending": "queued",
        "compile-succeeded": "succeeded", "compile-cached": "succeeded",
        "compile-failed": "failed", "compile-running": "running"}
