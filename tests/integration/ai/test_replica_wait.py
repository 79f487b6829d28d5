"""runtime.replica's bounded wait on the real Postgres (ai_service's replica table): a resume
created a moment ago is waited for, one that no wait can make the caller's is refused at once."""

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from ai_service.tables import resume_replica
from runtime.db import make_engine, make_sessionmaker
from runtime.replica import wait_for_version


@pytest.fixture
async def sessions(database_url: str, ai_api):  # type: ignore[no-untyped-def]
    """ai_service's schema, migrated by the session's app."""
    engine = make_engine(database_url, pool_size=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def arrive(sessions, resume_id: str, version: int, owner: str,  # type: ignore[no-untyped-def]
                 deleted: bool = False, after: float = 0.0) -> None:
    await asyncio.sleep(after)
    async with sessions.begin() as session:
        await session.execute(insert(resume_replica).values(
            resume_id=resume_id, version=version, owner_id=owner, deleted=deleted,
            document=None if deleted else {"title": f"v{version}"},
            recorded_at=datetime.now(UTC)))


async def timed_wait(sessions, resume_id: str, version: int | None,  # type: ignore[no-untyped-def]
                     owner: str = "owner-a", timeout: float = 3.0) -> tuple[object, float]:
    started = time.monotonic()
    row = await wait_for_version(sessions, resume_replica, owner, resume_id, version, timeout)
    return row, time.monotonic() - started


async def test_a_resume_not_replicated_yet_is_waited_for_with_or_without_a_version(
        sessions) -> None:  # type: ignore[no-untyped-def]
    for version in (None, 1):
        resume_id = str(uuid.uuid4())
        arriving = asyncio.create_task(arrive(sessions, resume_id, 1, "owner-a", after=0.3))
        row, waited = await timed_wait(sessions, resume_id, version)
        await arriving
        assert row is not None and row.version == 1 and row.document == {"title": "v1"}
        assert 0.25 <= waited < 2.0


async def test_another_users_or_a_deleted_resume_is_refused_without_waiting(
        sessions) -> None:  # type: ignore[no-untyped-def]
    foreign, deleted = str(uuid.uuid4()), str(uuid.uuid4())
    await arrive(sessions, foreign, 1, "owner-b")
    await arrive(sessions, deleted, 1, "owner-a")
    await arrive(sessions, deleted, 2, "owner-a", deleted=True)
    for resume_id, version in ((foreign, None), (foreign, 2), (deleted, None), (deleted, 1)):
        row, waited = await timed_wait(sessions, resume_id, version)
        assert row is None and waited < 1.0


async def test_an_unknown_resume_or_version_is_refused_when_the_wait_ends(
        sessions) -> None:  # type: ignore[no-untyped-def]
    known = str(uuid.uuid4())
    await arrive(sessions, known, 1, "owner-a")
    for resume_id, version in ((str(uuid.uuid4()), None), (known, 2)):
        row, waited = await timed_wait(sessions, resume_id, version, timeout=0.4)
        assert row is None and 0.4 <= waited < 2.0
