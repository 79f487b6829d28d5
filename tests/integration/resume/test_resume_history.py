"""Resume streams written before the document grew (tests/integration/fixtures/
resume_events_0001.json holds events as the code of 089c310 wrote them: schema version 1,
no locale, none of JSON Resume's fields) still migrate, fold, rebuild and export: the
migration rewrites the read model's documents in today's shape, the events are upcast when
read, and a rebuild from them gives exactly the migrated rows."""

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.resume import ResumeDocument
from contracts.resume_events import RESUME_EVENTS, ResumeCreated
from resume_service import projections
from resume_service.domain import fold
from resume_service.json_resume import to_json_resume
from resume_service.registration import REGISTRATION
from resume_service.tables import event_tables, resumes
from runtime.db import asyncpg_dsn, make_engine, make_sessionmaker
from runtime.eventstore import EventStore
from runtime.migrations import ensure_database, upgrade
from tests.conftest import POSTGRES_URL, drop_database

FIXTURE = Path(__file__).parent.parent / "fixtures" / "resume_events_0001.json"
STREAMS: dict[str, list[dict[str, Any]]] = json.loads(FIXTURE.read_text())["streams"]
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LIVE = "00000000-0000-4000-8000-0000000000a1"
DELETED = "00000000-0000-4000-8000-0000000000a2"


@pytest.fixture(scope="module")
def history_url() -> Iterator[str]:
    """A database at revision 0003 holding the old streams and the read-model rows the code
    of that revision wrote for them; then upgraded to head."""
    url = f"{POSTGRES_URL}/resume_history_{uuid4().hex[:8]}"
    asyncio.run(ensure_database(url))
    try:
        upgrade(REGISTRATION.migrations, url, "0003")
        asyncio.run(_write_old_history(url))
        upgrade(REGISTRATION.migrations, url, "head")
        yield url
    finally:
        asyncio.run(drop_database(url))


async def _write_old_history(url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for stream_id, events in STREAMS.items():
            for version, event in enumerate(events, start=1):
                await conn.execute(
                    "INSERT INTO resume.events (event_id, stream_id, stream_version, "
                    "event_type, schema_version, payload, metadata, recorded_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6::jsonb, '{}'::jsonb, $7)",
                    uuid4(), stream_id, version, event["event_type"], event["schema_version"],
                    json.dumps(event["payload"]), T0 + timedelta(seconds=version))
            await _old_row(conn, stream_id, events)
    finally:
        await conn.close()


async def _old_row(conn: asyncpg.Connection, stream_id: str, events: list[dict[str, Any]]) -> None:
    """The `resume.resumes` row as revision 0003's projection wrote it: the last document as
    stored, a tombstone for a deletion."""
    written = [e for e in events if "document" in e["payload"]]
    document = written[-1]["payload"]["document"]
    deleted = events[-1]["event_type"] == "ResumeDeleted"
    await conn.execute(
        "INSERT INTO resume.resumes (id, owner_id, version, title, template, document, "
        "created_at, updated_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)",
        stream_id, events[0]["payload"]["owner_id"], len(events), document["title"],
        document["template"], json.dumps(document), T0 + timedelta(seconds=1),
        T0 + timedelta(seconds=len(events)),
        T0 + timedelta(seconds=len(events)) if deleted else None)


async def _rows(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        result = await conn.execute(select(resumes).order_by(resumes.c.id))
        return [tuple(row) for row in result]


async def _stored(engine: AsyncEngine) -> list[Any]:
    async with make_sessionmaker(engine)() as session:
        return await EventStore(event_tables, "resume").read_all(session)


async def test_the_migration_gives_the_old_documents_todays_shape(history_url: str) -> None:
    engine = make_engine(history_url)
    try:
        rows = {row[0]: row for row in await _rows(engine)}
    finally:
        await engine.dispose()
    document = rows[LIVE][5]
    assert document == ResumeDocument.model_validate(document).model_dump(mode="json")
    assert document["locale"] == "en"
    assert document["contact"]["links"] == [{"label": "GitHub", "url": "https://github.com/grace"}]
    assert document["contact"]["address"]["city"] == ""
    assert document["title"] == "Grace Hopper - Engineer"  # restored version 1


async def test_a_rebuild_from_the_old_streams_gives_the_migrated_rows(history_url: str) -> None:
    engine = make_engine(history_url)
    try:
        migrated = await _rows(engine)
        async with make_sessionmaker(engine).begin() as session:
            await projections.reset(session)
            await projections.apply_batch(session, await EventStore(
                event_tables, "resume").read_all(session))
        assert await _rows(engine) == migrated
    finally:
        await engine.dispose()


async def test_the_old_streams_fold_and_export(history_url: str) -> None:
    engine = make_engine(history_url)
    try:
        envelopes = await _stored(engine)
    finally:
        await engine.dispose()
    assert {e.schema_version for e in envelopes if e.event_type != "ResumeDeleted"} == {
        ResumeCreated.schema_version}
    events = {stream: [RESUME_EVENTS[e.event_type].model_validate(e.payload)
                       for e in envelopes if e.stream_id == stream] for stream in STREAMS}
    live, deleted = fold(LIVE, events[LIVE]), fold(DELETED, events[DELETED])
    assert (live.version, live.deleted, deleted.deleted) == (3, False, True)
    assert live.document is not None and live.document.locale == "en"
    exported = to_json_resume(live.document)
    assert exported["basics"]["name"] == "Grace Hopper"
    assert exported["work"][0]["position"] == "Senior Programmer"
    assert exported["basics"]["profiles"] == [{"network": "GitHub",
                                               "url": "https://github.com/grace"}]
