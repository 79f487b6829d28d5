"""`events show`, `state`, `trace` and `events tail` on histories made by resume_service's
real app (and its event store) in the shared test database."""

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.integration.cli.conftest import Cli
from tests.integration.cli.helpers import resume_writer


async def _history(api: httpx.AsyncClient, headers: dict[str, str],
                   request_id: str) -> str:
    """Created as A (with our request id), renamed B, a section added, then deleted."""
    created = await api.post("/resume/create", json={"title": "A"},
                             headers={**headers, "X-Request-ID": request_id})
    assert created.status_code == 201, created.text
    resume_id = created.json()["id"]
    for body in ({"title": "B"}, {"title": "B", "sections": [{"title": "Skills"}]}):
        updated = await api.put(f"/resume/update/{resume_id}", json=body, headers=headers)
        assert updated.status_code == 200, updated.text
    assert (await api.delete(f"/resume/delete/{resume_id}", headers=headers)).status_code == 204
    return resume_id


@pytest.fixture
async def history(resume_api: httpx.AsyncClient, as_user: Any, user_id: str,
                  ) -> tuple[str, str]:
    request_id = f"req-{uuid.uuid4().hex}"
    return await _history(resume_api, as_user(user_id), request_id), request_id


async def test_show_lists_every_version_with_what_it_changed(
        cli: Cli, history: tuple[str, str]) -> None:
    resume_id, request_id = history
    result = await cli("events", "show", resume_id, "--json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [(e["version"], e["event_type"], e["change"]) for e in entries] == [
        (1, "ResumeCreated", "created “A”"), (2, "ResumeUpdated", "title changed"),
        (3, "ResumeUpdated", "section “Skills” added"), (4, "ResumeDeleted", "deleted")]
    assert entries[0]["correlation_id"] == request_id

    table = await cli("events", "show", resume_id)
    assert table.exit_code == 0 and "section “Skills” added" in table.stdout


async def test_state_at_a_version_is_the_resume_as_it_was(
        cli: Cli, history: tuple[str, str]) -> None:
    resume_id, _ = history
    at_two = await cli("state", resume_id, "--at", "2")
    assert at_two.exit_code == 0, at_two.output
    state = json.loads(at_two.stdout)
    assert (state["version"], state["deleted"], state["document"]["title"]) == (2, False, "B")
    assert state["document"]["sections"] == []

    latest = json.loads((await cli("state", resume_id)).stdout)
    assert (latest["version"], latest["deleted"]) == (4, True)
    assert latest["document"]["sections"][0]["title"] == "Skills"


async def test_state_beyond_the_stream_or_of_an_unknown_stream_fails_clearly(
        cli: Cli, history: tuple[str, str]) -> None:
    resume_id, _ = history
    beyond = await cli("state", resume_id, "--at", "9")
    assert beyond.exit_code == 1 and "only 4 events" in beyond.output
    unknown = await cli("state", f"no-such-{uuid.uuid4()}")
    assert unknown.exit_code == 1 and "no stream" in unknown.output


async def test_trace_finds_the_events_of_one_request_and_no_others(
        cli: Cli, history: tuple[str, str]) -> None:
    resume_id, request_id = history
    result = await cli("trace", request_id, "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert [(f["schema"], f["stream_id"], f["event_type"]) for f in found] == [
        ("resume", resume_id, "ResumeCreated")]
    assert found[0]["correlation_id"] == request_id

    table = await cli("trace", request_id)
    assert "ResumeCreated" in table.stdout and "1 events" in table.stdout
    missing = await cli("trace", f"req-{uuid.uuid4().hex}")
    assert missing.exit_code == 1 and "no stored event" in missing.output


async def test_trace_orders_events_of_one_request_across_streams(cli: Cli) -> None:
    request_id = f"req-{uuid.uuid4().hex}"
    async with resume_writer(TEST_DATABASE_URL) as writer:
        first = await writer.create("one", correlation_id=request_id)
        second = await writer.create("two", correlation_id=request_id)
    found = json.loads((await cli("trace", request_id, "--json")).stdout)
    assert [f["stream_id"] for f in found] == [first, second]


async def test_tail_prints_events_appended_while_it_follows(cli: Cli) -> None:
    async def append_soon() -> str:
        await asyncio.sleep(1.5)
        async with resume_writer(TEST_DATABASE_URL) as writer:
            return await writer.create("tailed")

    tail = asyncio.ensure_future(cli("events", "tail", "--duration", "5", "--poll", "0.2"))
    resume_id = await append_soon()
    result = await tail
    assert result.exit_code == 0, result.output
    assert "following" in result.stdout
    assert f"ResumeCreated {resume_id}@1" in result.stdout


async def test_tail_with_history_prints_recent_events_as_json(cli: Cli) -> None:
    async with resume_writer(TEST_DATABASE_URL) as writer:
        await writer.create("recent")
    result = await cli("events", "tail", "--history", "1", "--max-events", "1", "--json",
                       "--duration", "5")
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout)
    assert {"schema", "event_type", "stream_id", "global_position"} <= set(line)
