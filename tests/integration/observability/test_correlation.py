"""One request id, followed from the gateway's response header through every event the
request caused (each service's events table, the compile worker's too) and every log line
of each service that handled the request or those events."""

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from ops.cli.store import Located, by_correlation
from tests.integration.observability.conftest import ObservedStack, compile_and_wait, create_resume


async def traced(database_url: str, request_id: str) -> list[Located]:
    """Every stored event with this correlation id, across the services' schemas."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await by_correlation(conn, request_id)
    finally:
        await engine.dispose()


async def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    assert check()


def access_line(lines: list[dict[str, Any]], service: str) -> dict[str, Any] | None:
    return next((line for line in lines
                 if line["service"] == service and line["logger"] == "runtime.access"), None)


def consumer_line(lines: list[dict[str, Any]], consumer: str, event_type: str,
                  ) -> dict[str, Any] | None:
    return next((line for line in lines if line.get("consumer") == consumer
                 and line.get("event_type") == event_type), None)


async def test_a_resume_write_is_traced_from_the_gateway_to_the_compile_replica_consumer(
        observed: ObservedStack, database_url: str) -> None:
    async with observed.signed_in_client() as client:
        response = await create_resume(client)
    request_id = response.headers["x-request-id"]

    events = await traced(database_url, request_id)
    assert [(e.schema, e.envelope.event_type) for e in events] == [("resume", "ResumeCreated")]
    assert events[0].envelope.stream_id == response.json()["id"]

    logs = observed.logs
    await eventually(lambda: consumer_line(logs.with_id(request_id), "compile_service.resumes",
                                           "ResumeCreated") is not None)
    lines = logs.with_id(request_id)
    resume = access_line(lines, "resume_service")
    assert resume is not None and resume["route"] == "/resume/create"
    assert resume["status"] == 201
    assert access_line(lines, "gateway") is None  # a proxy logs only failed or slow requests
    consumed = consumer_line(lines, "compile_service.resumes", "ResumeCreated")
    assert consumed is not None and consumed["service"] == "compile_service"
    assert consumed["event_id"] == str(events[0].envelope.event_id)


async def test_a_compile_request_id_is_on_every_event_of_its_job_and_on_the_worker_lines(
        observed: ObservedStack, database_url: str) -> None:
    async with observed.signed_in_client() as client:
        created = (await create_resume(client)).json()
        response, job = await compile_and_wait(client, created["id"], created["version"])
    request_id = response.headers["x-request-id"]
    assert job["status"] == "succeeded", job

    events = await traced(database_url, request_id)
    assert [(e.schema, e.envelope.event_type) for e in events] == [
        ("compile", "CompileRequested"), ("compile", "CompileStarted"),
        ("compile", "CompileFinished")]
    assert {e.envelope.stream_id for e in events} == {job["job_id"]}
    requested = events[0].envelope
    # the worker's events were caused by the request event it consumed
    assert [e.envelope.causation_id for e in events[1:]] == [str(requested.event_id)] * 2

    logs = observed.logs
    await eventually(lambda: consumer_line(logs.with_id(request_id), "compile_service.jobs",
                                           "CompileRequested") is not None)
    lines = logs.with_id(request_id)
    served = access_line(lines, "compile_service")
    assert served is not None and served["route"] == "/compile/{resume_id}"
    assert served["status"] == 202
    worker = consumer_line(lines, "compile_service.jobs", "CompileRequested")
    assert worker is not None and worker["outcome"] == "handled"
    assert worker["event_id"] == str(requested.event_id)


async def test_a_caller_supplied_request_id_is_kept_end_to_end(
        observed: ObservedStack, database_url: str) -> None:
    async with observed.signed_in_client() as client:
        mine = "trace-" + (await client.get("/api/user/me")).headers["x-request-id"]
        response = await create_resume(client, **{"X-Request-ID": mine})
    assert response.headers["x-request-id"] == mine
    assert [e.envelope.event_type for e in await traced(database_url, mine)] == [
        "ResumeCreated"]
    assert "resume_service" in {line["service"] for line in observed.logs.with_id(mine)}


async def test_a_request_the_gateway_refuses_is_logged_by_the_gateway_with_its_id(
        observed: ObservedStack) -> None:
    async with observed.client() as anonymous:
        response = await anonymous.get("/api/resume/all")
    assert response.status_code == 401
    line = access_line(observed.logs.with_id(response.headers["x-request-id"]), "gateway")
    assert line is not None and line["status"] == 401 and line["route"] == "/api/resume/*"
    assert line["level"] == "INFO" and line["method"] == "GET" and line["duration_ms"] >= 0
