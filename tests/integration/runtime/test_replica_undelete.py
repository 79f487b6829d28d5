"""A replica (runtime.replica) takes ResumeUndeleted as a live version again: the resume is
the owner's to compile and rate after it, as before its deletion; both write paths (the
batch statement and the event-by-event projection) agree."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from contracts.envelope import EventEnvelope
from contracts.resume_events import ResumeDeleted, ResumeUndeleted, ResumeUpdated
from runtime.db import make_engine
from runtime.replica import (
    ReplicaWriter,
    apply_resume_event,
    define_resume_replica,
    live_document,
    owned_version,
)

SCHEMA = "runtime_replica_undelete_test"
metadata = MetaData(schema=SCHEMA)
replica = define_resume_replica(metadata)
OWNER = "replica-undelete-owner"


@pytest.fixture(scope="module")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


def history(resume_id: str) -> list[EventEnvelope]:
    document = {"title": "kept", "template": "classic", "sections": []}
    events = [(ResumeUpdated.event_type, {"document": document}),
              (ResumeDeleted.event_type, {}),
              (ResumeUndeleted.event_type, {"document": document})]
    return [EventEnvelope(event_id=uuid.uuid4(), event_type=event_type, stream_id=resume_id,
                          stream_version=version, occurred_at=datetime.now(UTC),
                          payload={"resume_id": resume_id, "owner_id": OWNER, **payload})
            for version, (event_type, payload) in enumerate(events, start=1)]


async def test_an_undeleted_resume_is_live_again_in_the_replica_by_batch(
        engine: AsyncEngine) -> None:
    resume_id = str(uuid.uuid4())
    envelopes = history(resume_id)
    writer = ReplicaWriter(engine, replica)
    sessions = async_sessionmaker(engine)
    await writer.write([orjson.dumps(e.model_dump(mode="json")) for e in envelopes[:2]])
    assert await live_document(sessions, replica, OWNER, resume_id, 1) is None  # deleted
    await writer.write([orjson.dumps(envelopes[2].model_dump(mode="json"))])
    assert (await live_document(sessions, replica, OWNER, resume_id, 3))["title"] == "kept"
    assert (await live_document(sessions, replica, OWNER, resume_id, 1))["title"] == "kept"
    writer._give_back(invalidate=False)


async def test_an_undeleted_resume_is_live_again_in_the_replica_event_by_event(
        engine: AsyncEngine) -> None:
    resume_id = str(uuid.uuid4())
    async with AsyncSession(engine) as session, session.begin():
        for envelope in history(resume_id):
            await apply_resume_event(session, replica, envelope)
    async with AsyncSession(engine) as session:
        head = await owned_version(session, replica, OWNER, resume_id)
    assert head is not None and head.version == 3 and not head.deleted
