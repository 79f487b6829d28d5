"""`projections rebuild` in a scratch database: it reproduces exactly the read model the
service keeps inline, batched or not, continues an interrupted rebuild from its checkpoint,
and refuses to run twice at once."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import EventEnvelope
from ops.cli import store
from ops.cli.common import database
from ops.cli.rebuild import Rebuilder
from resume_service.projections import PROJECTIONS, apply_batch
from resume_service.tables import SCHEMA
from runtime.eventstore import schema_lock_key
from runtime.projection import Projection
from tests.integration.cli.conftest import Cli
from tests.integration.cli.helpers import execute, read_model, resume_writer

RESUMES = PROJECTIONS[0]


async def _write_histories(url: str) -> list[str]:
    """Interleaved histories: edits, a deletion right after creation, a late deletion,
    undeletions (one edited afterwards, one deleted again, one left as undeleted)."""
    async with resume_writer(url) as writer:
        ids = [await writer.create(f"resume {n}") for n in range(7)]
        for round_ in range(3):
            for n, resume_id in enumerate(ids[1:], start=1):
                await writer.update(resume_id, f"resume {n} r{round_}",
                                    sections=("Skills",) * (round_ % 2))
        await writer.delete(ids[0])
        await writer.update(ids[1], "last words")
        await writer.delete(ids[1])
        for resume_id in ids[4:]:
            await writer.delete(resume_id)
            await writer.undelete(resume_id, "back")
        await writer.update(ids[4], "edited after undelete")
        await writer.delete(ids[5])
    return ids


async def _spoil(url: str, ids: list[str]) -> None:
    await execute(url, "DELETE FROM resume.resumes WHERE id = :id", id=ids[2])
    await execute(url, "UPDATE resume.resumes SET title = 'wrong', version = 1 WHERE id = :id",
                  id=ids[3])


@pytest.fixture
async def histories(scratch_database_url: str) -> tuple[list[str], list[dict[str, Any]]]:
    ids = await _write_histories(scratch_database_url)
    return ids, await read_model(scratch_database_url, ids)


async def test_rebuild_reproduces_the_read_model_kept_inline(
        scratch_cli: Cli, scratch_database_url: str,
        histories: tuple[list[str], list[dict[str, Any]]]) -> None:
    ids, expected = histories
    await _spoil(scratch_database_url, ids)
    result = await scratch_cli("projections", "rebuild", "resume_service", "resumes",
                               "--batch-size", "7")
    assert result.exit_code == 0, result.output
    assert "rebuilt resumes" in result.stdout and "events/s" in result.stdout
    assert await read_model(scratch_database_url, ids) == expected
    listed = await scratch_cli("projections", "list", "resume_service")
    assert "resumes" in listed.stdout and "done" in listed.stdout


async def test_batched_apply_equals_event_by_event_apply(
        scratch_database_url: str, histories: tuple[list[str], list[dict[str, Any]]]) -> None:
    ids, expected = histories
    async with database(scratch_database_url) as engine:
        async with engine.connect() as conn:
            envelopes = [e for e in await store.read_from(conn, SCHEMA, 0, 100_000)
                         if e.stream_id in ids]
        without_positions = [e.model_copy(update={"global_position": None})
                             for e in envelopes]
        for events in (envelopes, without_positions):  # SQL copy path, then Python path
            async with AsyncSession(engine) as session, session.begin():
                await RESUMES.reset(session)
                for start in range(0, len(events), 5):
                    await apply_batch(session, events[start:start + 5])
            assert await read_model(scratch_database_url, ids) == expected


async def test_interrupted_rebuild_continues_from_its_checkpoint(
        scratch_cli: Cli, scratch_database_url: str,
        histories: tuple[list[str], list[dict[str, Any]]]) -> None:
    ids, expected = histories
    batches = 0

    def crash_after_two_batches(_applied: int) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise KeyboardInterrupt

    async with database(scratch_database_url) as engine:
        rebuilder = Rebuilder(engine, SCHEMA, batch_size=4, on_batch=crash_after_two_batches)
        with pytest.raises(KeyboardInterrupt):
            await rebuilder.rebuild(RESUMES)
        checkpoint = await rebuilder.checkpoint(RESUMES.name)
        async with engine.connect() as conn:
            remaining = await store.count_from(conn, SCHEMA, checkpoint[0] if checkpoint else 0)
    assert checkpoint is not None and checkpoint[0] > 0 and checkpoint[1] is False

    result = await scratch_cli("projections", "rebuild", "resume_service")
    assert result.exit_code == 0, result.output
    assert f"resuming an interrupted rebuild after position {checkpoint[0]}" in result.stdout
    assert f"rebuilt resumes: {remaining:,} events" in result.stdout
    assert await read_model(scratch_database_url, ids) == expected


async def test_a_second_rebuild_at_the_same_time_is_refused(
        scratch_cli: Cli, scratch_database_url: str) -> None:
    async with database(scratch_database_url) as engine, engine.connect() as conn:
        key = schema_lock_key(SCHEMA, f"rebuild:{RESUMES.name}")
        await conn.execute(select(func.pg_advisory_lock(key)))
        result = await scratch_cli("projections", "rebuild", "resume_service", "resumes")
        await conn.execute(select(func.pg_advisory_unlock(key)))
    assert result.exit_code == 1 and "already running" in result.output


async def test_rebuild_of_an_unknown_projection_or_service_says_what_exists(
        scratch_cli: Cli) -> None:
    unknown = await scratch_cli("projections", "rebuild", "resume_service", "nope")
    assert unknown.exit_code == 1 and "it has: resumes" in unknown.output
    no_service = await scratch_cli("projections", "rebuild", f"x{uuid.uuid4().hex[:6]}")
    assert no_service.exit_code == 1 and "resume_service" in no_service.output


async def test_a_projection_without_batch_apply_gets_the_events_one_by_one() -> None:
    seen: list[EventEnvelope] = []

    async def apply(_session: AsyncSession, envelope: EventEnvelope) -> None:
        seen.append(envelope)

    async def reset(_session: AsyncSession) -> None:
        seen.clear()

    envelopes = [EventEnvelope(event_id=uuid.uuid4(), event_type="X", stream_id="s",
                               stream_version=n, occurred_at=datetime.now(UTC), payload={})
                 for n in (1, 2, 3)]
    await Projection("p", SCHEMA, frozenset({"X"}), reset, apply).apply_all(AsyncSession(),
                                                                            envelopes)
    assert seen == envelopes


async def test_an_undeleted_resume_is_rebuilt_live_and_one_deleted_again_stays_deleted(
        scratch_cli: Cli, scratch_database_url: str,
        histories: tuple[list[str], list[dict[str, Any]]]) -> None:
    ids, _ = histories
    result = await scratch_cli("projections", "rebuild", "resume_service", "resumes",
                               "--batch-size", "3")
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in await read_model(scratch_database_url, ids)}
    assert rows[ids[4]]["deleted_at"] is None and rows[ids[4]]["title"] == "edited after undelete"
    assert rows[ids[5]]["deleted_at"] is not None
    assert rows[ids[6]]["deleted_at"] is None and rows[ids[6]]["title"] == "back"
