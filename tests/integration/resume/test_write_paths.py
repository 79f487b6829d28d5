"""Two resume_service processes writing the same resume: each remembers the state it last left
a resume in (service.RecentWrites), which the other's writes make stale. A command decided on
a stale state must never land: it is refused by the stream's version key and decided again on
a fresh read."""

import uuid
from collections.abc import AsyncIterator

import pytest

from contracts.resume import ResumeDocument
from resume_service.domain import (
    CreateResume,
    DeleteResume,
    ResumeNotFound,
    StaleVersion,
    UpdateResume,
)
from resume_service.settings import ResumeSettings
from resume_service.wiring import Components, build
from runtime.eventstore import EventStore

pytestmark = pytest.mark.usefixtures("amqp_url")


@pytest.fixture
async def two_processes(service_env: dict[str, str]) -> AsyncIterator[list[Components]]:
    settings = ResumeSettings.model_validate(service_env)
    built = [build(settings), build(settings)]
    try:
        yield built
    finally:
        for components in built:
            await components.aclose()


def titled(title: str) -> ResumeDocument:
    return ResumeDocument(title=title)


async def versions_in_log(components: Components, resume_id: str) -> list[int]:
    store: EventStore = components.service.store
    async with components.service.reads() as session:
        return [e.stream_version for e in await store.read_stream(session, resume_id)]


async def test_writes_alternating_between_processes_all_land_in_order(two_processes, user_id):
    a, b = (c.service for c in two_processes)
    rid = str(uuid.uuid4())
    await a.execute(rid, CreateResume(user_id, titled("v1")))
    for n in range(2, 8):  # each process's remembered version is one behind, every time
        writer = (a, b)[n % 2]
        await writer.execute(rid, UpdateResume(user_id, titled(f"v{n}")))
    assert await versions_in_log(two_processes[0], rid) == list(range(1, 8))
    async with a.owned(user_id, rid) as owned:
        assert (owned.row.version, owned.row.title) == (7, "v7")


async def test_a_stale_remembered_state_never_hides_a_conflict_or_a_deletion(
        two_processes, user_id):
    a, b = (c.service for c in two_processes)
    rid = str(uuid.uuid4())
    await a.execute(rid, CreateResume(user_id, titled("v1")))
    await a.execute(rid, UpdateResume(user_id, titled("v2"), expected_version=1))
    await b.execute(rid, UpdateResume(user_id, titled("v3"), expected_version=2))
    # a remembers version 2: its expected version 2 is stale, and the answer names version 3
    with pytest.raises(StaleVersion) as stale:
        await a.execute(rid, UpdateResume(user_id, titled("lost"), expected_version=2))
    assert stale.value.current_version == 3
    await b.execute(rid, DeleteResume(user_id))
    with pytest.raises(ResumeNotFound):  # a still remembers it live
        await a.execute(rid, UpdateResume(user_id, titled("after delete")))
    assert await versions_in_log(two_processes[0], rid) == [1, 2, 3, 4]
