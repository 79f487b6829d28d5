"""runtime.eventstore on the real Postgres: appends keep order, queue their outbox rows in the
same statement, and refuse a stale expected version."""

import asyncio
import uuid

import asyncpg
import orjson
import pytest
from sqlalchemy import select

from contracts.envelope import EventEnvelope
from contracts.topology import RESUME_PRODUCER
from resume_service.tables import event_tables
from runtime.db import asyncpg_dsn, make_engine, make_sessionmaker
from runtime.eventstore import EventStore, NewEvent, VersionConflict
from runtime.metrics import ServiceMetrics
from runtime.outbox import wire_body

TRICKY_TEXT = "ä\"'\\"  # a non-ASCII letter, both quotes and a backslash


@pytest.fixture
async def sessions(database_url: str, resume_api):  # type: ignore[no-untyped-def]
    """resume_service's schema, migrated by the session's app."""
    engine = make_engine(database_url, pool_size=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def store() -> EventStore:
    return EventStore(event_tables, RESUME_PRODUCER)


async def append(sessions, store: EventStore, stream: str, expected: int,  # type: ignore[no-untyped-def]
                 *types: str, **options: bool) -> list:
    async with sessions.begin() as session:
        return await store.append(
            session, stream, expected,
            new_events(*types), user_id="u-1", correlation_id="corr-1", **options)


def new_events(*types: str) -> list[NewEvent]:
    return [NewEvent(t, {"n": i, "text": TRICKY_TEXT}) for i, t in enumerate(types)]


async def test_events_of_one_append_keep_their_order_and_each_has_an_outbox_row(
        sessions, store: EventStore) -> None:
    stream, outbox = str(uuid.uuid4()), event_tables.outbox
    types = ["ResumeCreated", "ResumeUpdated", "ResumeDeleted"]
    async with sessions.begin() as session:
        stored = await store.append(session, stream, 0, new_events(*types), user_id="u-1",
                                    correlation_id="corr-1")
        positions = [e.global_position for e in stored]
        # read before the commit: once it commits, the session's live relay takes the rows
        keys = dict((await session.execute(
            select(outbox.c.global_position, outbox.c.routing_key)
            .where(outbox.c.global_position.in_(positions)))).all())
    assert [e.stream_version for e in stored] == [1, 2, 3]
    assert positions == sorted(positions) and len(set(positions)) == 3
    async with sessions() as session:
        read = await store.read_stream(session, stream)
        first_two = await store.read_stream(session, stream, up_to=2)
    assert [(e.event_type, e.payload, e.global_position) for e in read] == [
        (t, {"n": i, "text": TRICKY_TEXT}, p)
        for i, (t, p) in enumerate(zip(types, positions, strict=True))]
    assert {e.user_id for e in read} == {"u-1"} and {e.correlation_id for e in read} == {"corr-1"}
    assert [e.stream_version for e in first_two] == [1, 2]
    assert [keys[p] for p in positions] == [
        "resume.ResumeCreated", "resume.ResumeUpdated", "resume.ResumeDeleted"]


async def test_a_stale_expected_version_is_a_conflict_naming_the_actual_one(
        sessions, store: EventStore) -> None:
    stream = str(uuid.uuid4())
    await append(sessions, store, stream, 0, "ResumeCreated", "ResumeUpdated")
    with pytest.raises(VersionConflict) as conflict:
        await append(sessions, store, stream, 1, "ResumeUpdated")
    assert (conflict.value.expected, conflict.value.actual) == (1, 2)


async def test_a_known_version_append_that_lost_a_race_is_still_refused(
        sessions, store: EventStore) -> None:
    stream = str(uuid.uuid4())
    await append(sessions, store, stream, 0, "ResumeCreated")
    with pytest.raises(VersionConflict):  # the unique (stream, version) key catches it
        await append(sessions, store, stream, 0, "ResumeCreated", known_version=True)
    async with sessions() as session:
        assert len(await store.read_stream(session, stream)) == 1


async def test_appends_queue_behind_an_open_one_so_positions_commit_in_order(
        sessions, store: EventStore) -> None:
    """The append statement takes the schema's lock before it draws a position: a second
    append waits for the first transaction to end, and its position comes after."""
    async with sessions.begin() as first:
        [held] = await store.append(first, str(uuid.uuid4()), 0, [NewEvent("ResumeCreated", {})],
                                    user_id="u-1")
        second = asyncio.create_task(append(sessions, store, str(uuid.uuid4()), 0,
                                            "ResumeCreated"))
        await asyncio.sleep(0.3)
        assert not second.done()  # waiting on the lock, position not drawn yet
    [after] = await asyncio.wait_for(second, 5)
    assert after.global_position > held.global_position


async def test_the_relay_sends_the_stored_event_as_the_envelope_consumers_read(
        sessions, store: EventStore, database_url: str) -> None:
    stream = str(uuid.uuid4())
    stored = await append(sessions, store, stream, 0, "ResumeCreated", "ResumeUpdated")
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch(  # as the relay reads them (it may have sent them already)
            "SELECT * FROM resume.events WHERE stream_id = $1 ORDER BY global_position", stream)
    finally:
        await conn.close()
    sent = [EventEnvelope.model_validate_json(wire_body(r, orjson.loads(r["metadata"])))
            for r in rows]
    assert sent == stored


async def test_a_store_counts_its_appends_in_the_metrics_it_was_given(sessions) -> None:
    metrics = ServiceMetrics("eventstore_test")  # a registry of its own, found by no name
    counted, uncounted = (EventStore(event_tables, RESUME_PRODUCER, metrics),
                          EventStore(event_tables, RESUME_PRODUCER))
    await append(sessions, counted, str(uuid.uuid4()), 0, "ResumeCreated", "ResumeUpdated",
                 "ResumeUpdated")
    await append(sessions, uncounted, str(uuid.uuid4()), 0, "ResumeCreated")
    appended = {s.labels["event_type"]: s.value
                for family in metrics.registry.collect() for s in family.samples
                if s.name == "rb_events_appended_total"}
    assert appended == {"ResumeCreated": 1.0, "ResumeUpdated": 2.0}
