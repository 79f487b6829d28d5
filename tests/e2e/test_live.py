"""GET /api/events through the gateway on the real stack: a user's own happenings, live
and after a reconnect, never another user's; heartbeats; the per-session cap of open
streams."""

import asyncio
from typing import Any

import httpx
from redis.asyncio import Redis

from tests.conftest import REDIS_URL
from tests.e2e.conftest import Stack, sign_in
from tests.integration.compile.conftest import resume_document
from tests.sse import EventStream, ServerSentEvent


def second_tab(stack: Stack, browser: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another client of the same signed-in user (its cookie)."""
    return httpx.AsyncClient(base_url=stack.gateway_url, cookies=browser.cookies,
                             headers={"Origin": stack.client().headers["Origin"]}, timeout=40)


async def create(client: httpx.AsyncClient, title: str = "Live") -> str:
    response = await client.post("/api/resume/create", json=resume_document(title=title))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def save(client: httpx.AsyncClient, resume_id: str, version: int) -> None:
    response = await client.put(f"/api/resume/update/{resume_id}",
                                json={**resume_document(title=f"v{version + 1}"),
                                      "version": version})
    assert response.status_code == 200, response.text


async def subscribers(channel: str) -> int:
    """Processes listening on a user's channel (pub/sub is the server's, whatever the db)."""
    redis = Redis.from_url(REDIS_URL)
    try:
        return int((await redis.pubsub_numsub(channel))[0][1])
    finally:
        await redis.aclose()


async def until_unsubscribed(channel: str, timeout: float = 10.0) -> None:
    """Until no process listens on the user's channel: live_service saw its streams end."""
    async with asyncio.timeout(timeout):
        while await subscribers(channel):
            await asyncio.sleep(0.1)


def is_resume(resume_id: str, version: int) -> Any:
    return lambda e: (e.event == "resume" and e.json["resume_id"] == resume_id
                      and e.json["version"] == version)


def versions_of(events: list[ServerSentEvent], resume_id: str) -> list[int]:
    return [e.json["version"] for e in events
            if e.event == "resume" and e.json["resume_id"] == resume_id]


async def test_a_compile_goes_queued_running_succeeded_and_a_second_tab_s_save_appears(
        stack: Stack) -> None:
    async with stack.client() as browser:
        await sign_in(stack, browser)
        async with second_tab(stack, browser) as tab, EventStream(browser) as stream:
            assert stream.response is not None and stream.response.status_code == 200
            assert stream.response.headers["content-type"].startswith("text/event-stream")
            resume_id = await create(tab)
            await save(tab, resume_id, 1)
            seen = await stream.until(is_resume(resume_id, 2))
            assert versions_of(seen, resume_id) == [1, 2]
            assert all(e.id for e in seen)

            compiled = await browser.post(f"/api/compile/{resume_id}", json={"version": 2})
            assert compiled.status_code == 202, compiled.text
            job_id = compiled.json()["job_id"]
            jobs = await stream.until(lambda e: e.event == "job" and e.json["job_id"] == job_id
                                      and e.json["status"] in ("succeeded", "failed"), 60)
            statuses = [e.json["status"] for e in jobs if e.event == "job"]
            assert statuses == ["queued", "running", "succeeded"], jobs
            assert {e.json["kind"] for e in jobs if e.event == "job"} == {"compile"}
            assert "document" not in jobs[0].data


async def test_a_reconnect_with_last_event_id_gets_the_three_it_missed_in_order(
        stack: Stack) -> None:
    async with stack.client() as browser:
        await sign_in(stack, browser)
        async with EventStream(browser) as stream:
            resume_id = await create(browser)
            last_id = (await stream.until(is_resume(resume_id, 1)))[-1].id
        for version in (1, 2, 3):  # while no stream is open
            await save(browser, resume_id, version)
        await asyncio.sleep(1.0)  # the feed has them (the bus is asynchronous)
        async with EventStream(browser, last_event_id=last_id) as again:
            missed = [await again.next() for _ in range(3)]
            assert versions_of(missed, resume_id) == [2, 3, 4]
            assert [e.id for e in missed] == sorted(e.id for e in missed)
            await save(browser, resume_id, 4)
            assert versions_of([await again.next()], resume_id) == [5]


async def test_a_stream_never_shows_another_user_s_events_and_sends_heartbeats(
        stack: Stack) -> None:
    async with stack.client() as owner, stack.client() as stranger:
        await sign_in(stack, owner)
        await sign_in(stack, stranger)
        async with EventStream(stranger) as strangers:
            owners_resume = await create(owner)
            await save(owner, owners_resume, 1)
            own = await create(stranger, "The stranger's own")
            seen = await strangers.until(is_resume(own, 1))
            heartbeat = await strangers.next(timeout=5, heartbeats=True)
            assert heartbeat.is_heartbeat
        assert versions_of(seen, owners_resume) == []
        assert all(owners_resume not in e.data for e in seen)


async def test_open_streams_over_the_session_cap_answer_429_and_bad_ids_422(
        stack: Stack) -> None:
    async with stack.client() as browser:
        await sign_in(stack, browser)
        channel = f"live:{(await browser.get('/api/user/me')).json()['id']}"
        streams = [EventStream(browser) for _ in range(4)]  # EVENT_STREAMS_PER_SESSION
        for stream in streams:
            await stream.__aenter__()
        try:
            assert await subscribers(channel) == 1  # one subscription for the four
            async with EventStream(browser) as over:
                assert over.response is not None and over.response.status_code == 429
                await over.response.aread()
                assert over.response.json()["error"]["code"] == "too_many_event_streams"
        finally:
            for stream in streams:
                await stream.__aexit__(None, None, None)
        await until_unsubscribed(channel)  # the gateway ended them upstream too
        async with EventStream(browser) as after:
            assert after.response is not None and after.response.status_code == 200
        bad = await browser.get("/api/events", headers={"Last-Event-ID": "yesterday"})
        assert bad.status_code == 422, bad.text
        assert bad.json()["error"]["code"] == "invalid_last_event_id"
