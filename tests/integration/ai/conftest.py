"""Fixtures of the ai_service tests: resume_service and ai_service in-process against the real
Postgres, Redis and RabbitMQ, and a fake Gemini HTTP server on loopback that the real
google-genai client talks to. Resumes are created through resume_service, so real resume
events flow through RabbitMQ into ai_service's replica."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from ai_service.app import create_app
from ai_service.settings import AiSettings
from contracts.topology import AI_IMPORTS_CONSUMER as IMPORTS_CONSUMER
from contracts.topology import AI_RATINGS_CONSUMER as RATINGS_CONSUMER
from contracts.topology import AI_RESUMES_CONSUMER as RESUMES_CONSUMER
from tests.conftest import asgi_client, purge_queue, wait_for_queue
from tests.fakes.gemini import FakeGemini

Headers = Callable[[str], dict[str, str]]
RATING_LIMIT = 3
TEST_API_KEY = "test-gemini-key"


@pytest.fixture(scope="session")
def fake_gemini() -> Iterator[FakeGemini]:
    fake = FakeGemini().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def ai_env(service_env: dict[str, str], fake_gemini: FakeGemini) -> dict[str, Any]:
    return {**service_env, "gemini_api_key": TEST_API_KEY, "gemini_base_url": fake_gemini.url,
            "gemini_timeout_seconds": 1.0, "gemini_max_attempts": 3,
            "gemini_backoff_seconds": 0.05, "rating_limit": RATING_LIMIT,
            "rating_limit_window_seconds": 60, "relay_poll_seconds": 0.2}


@pytest.fixture(scope="session", autouse=True)
async def _no_stale_ratings(amqp_url: str) -> None:
    """Jobs queued by an earlier, interrupted run would only slow this one down."""
    await purge_queue(RATINGS_CONSUMER)
    await purge_queue(IMPORTS_CONSUMER)


async def ai_client(settings: AiSettings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in asgi_client(create_app(settings), base_url="http://ai"):
        await wait_for_queue(RESUMES_CONSUMER)  # resume events reach the replica from here on
        yield client


@pytest.fixture(scope="session")
async def ai_api(ai_env: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    """ai_service with its rating worker in the same process."""
    async for client in ai_client(AiSettings.model_validate(ai_env)):
        yield client


def token() -> str:
    """A unique marker to put in a resume, so the fake's replies for it are this test's."""
    return f"tok{uuid.uuid4().hex[:12]}"


def resume_document(title: str, bullets: list[str] | None = None) -> dict[str, Any]:
    return {
        "title": title, "template": "classic",
        "contact": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "sections": [
            {"title": "Experience", "kind": "experience", "items": [
                {"title": "Engineer", "subtitle": "Analytical Engines", "start_date": "1842",
                 "bullets": bullets if bullets is not None else [
                     "Wrote the first published algorithm"]}]},
            {"title": "Skills", "kind": "skills", "items": [
                {"title": "Mathematics", "bullets": ["analysis"]}]},
        ],
    }


async def create_resume(resume_api: httpx.AsyncClient, headers: dict[str, str],
                        document: dict[str, Any]) -> tuple[str, int]:
    response = await resume_api.post("/resume/create", json=document, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["version"]


async def request_rating(ai_api: httpx.AsyncClient, headers: dict[str, str], resume_id: str,
                         version: int | None = 1) -> httpx.Response:
    body = {"version": version} if version is not None else None
    return await ai_api.post(f"/ai/rate/{resume_id}", json=body, headers=headers)


async def wait_for_job(ai_api: httpx.AsyncClient, headers: dict[str, str], job_id: str,
                       wait: float = 15) -> dict[str, Any]:
    response = await ai_api.get(f"/ai/ratings/{job_id}", params={"wait": wait},
                                headers=headers)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    assert job["status"] in ("succeeded", "failed"), f"job unfinished after {wait} s"
    return job


async def rate_and_wait(ai_api: httpx.AsyncClient, headers: dict[str, str],
                        resume_id: str, version: int = 1) -> dict[str, Any]:
    response = await request_rating(ai_api, headers, resume_id, version)
    assert response.status_code == 202, response.text
    return await wait_for_job(ai_api, headers, response.json()["job_id"])


async def upload(ai_api: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes,
                 content_type: str = "application/octet-stream") -> httpx.Response:
    return await ai_api.post("/ai/import", files={"file": (name, data, content_type)},
                             headers=headers)


async def wait_for_import(ai_api: httpx.AsyncClient, headers: dict[str, str], job_id: str,
                          wait: float = 15) -> dict[str, Any]:
    response = await ai_api.get(f"/ai/imports/{job_id}", params={"wait": wait},
                                headers=headers)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    assert job["status"] in ("succeeded", "failed"), f"import unfinished after {wait} s"
    return job


async def import_and_wait(ai_api: httpx.AsyncClient, headers: dict[str, str], name: str,
                          data: bytes) -> dict[str, Any]:
    response = await upload(ai_api, headers, name, data)
    assert response.status_code == 202, response.text
    return await wait_for_import(ai_api, headers, response.json()["job_id"])


async def created_resume(resume_api: httpx.AsyncClient, headers: dict[str, str],
                         resume_id: str, timeout: float = 10) -> dict[str, Any]:
    """The resume an import created, once its event has reached resume_service."""
    for _ in range(int(timeout / 0.05)):
        response = await resume_api.get(f"/resume/{resume_id}", headers=headers)
        if response.status_code == 200:
            return response.json()  # type: ignore[no-any-return]
        assert response.status_code == 404, response.text
        await asyncio.sleep(0.05)
    raise TimeoutError(f"resume {resume_id} was never created")
