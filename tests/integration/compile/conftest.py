"""Fixtures of the compile_service tests: resume_service and compile_service in-process
against the real Postgres and RabbitMQ, real pdflatex, an artifact store and a TeX work
directory of their own, and the test-only templates in tests/integration/compile/templates."""

import asyncio
import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from compile_service.app import create_app
from compile_service.rendering import BUILTIN_TEMPLATES, Renderer
from compile_service.settings import CompileSettings
from compile_service.typesetting.typst import KEPT_RUN_PURPOSE, Typst
from compile_service.wiring import make_typst
from contracts.topology import COMPILE_JOBS_CONSUMER as JOBS_CONSUMER
from contracts.topology import COMPILE_RESUMES_CONSUMER as RESUMES_CONSUMER
from tests.conftest import asgi_client, purge_queue, wait_for_queue

TEST_TEMPLATES = Path(__file__).parent / "templates"
Headers = Callable[[str], dict[str, str]]


@pytest.fixture(scope="session")
def compile_env(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
                ) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("compile")
    # the directory store: these tests look at its files; test_postgres_store.py the default
    return {**service_env, "artifact_store": "directory",
            "artifacts_dir": str(root / "artifacts"), "compile_work_dir": str(root / "work"),
            "compile_templates_extra_dir": str(TEST_TEMPLATES),
            "compile_timeout_seconds": 4.0, "relay_poll_seconds": 0.2,
            "job_version_wait_seconds": 3.0}


# the template renderer and a Typst engine, for the tests that render without the service
@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer([BUILTIN_TEMPLATES])


@pytest.fixture(scope="module")
async def typst(renderer: Renderer) -> AsyncIterator[Typst]:
    engine = make_typst(CompileSettings(compile_timeout_seconds=10), renderer)
    assert isinstance(engine, Typst)
    yield engine
    engine.close()


@pytest.fixture(scope="session", autouse=True)
async def _no_stale_jobs(amqp_url: str) -> None:
    """Jobs queued by an earlier, interrupted run would only slow this one down."""
    await purge_queue(JOBS_CONSUMER)


@contextlib.asynccontextmanager
async def compile_client(settings: CompileSettings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in asgi_client(create_app(settings), base_url="http://compile"):
        await wait_for_queue(RESUMES_CONSUMER)  # resume events reach the replica from here on
        yield client


@pytest.fixture(scope="module")
async def compile_api(compile_env: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    """compile_service with its job worker in the same process."""
    async with compile_client(CompileSettings.model_validate(compile_env)) as client:
        yield client


def resume_document(name: str = "Ada Lovelace", bullets: list[str] | None = None,
                    template: str = "classic", title: str = "Ada's resume") -> dict[str, Any]:
    return {
        "title": title, "template": template,
        "contact": {"name": name, "email": "ada@example.com", "location": "London",
                    "links": [{"label": "GitHub", "url": "https://github.com/ada_l?a=1&b=2#x"}]},
        "sections": [
            {"title": "Experience", "kind": "experience", "items": [
                {"title": "Engineer", "subtitle": "Analytical Engines", "start_date": "1842",
                 "end_date": "1843",
                 "bullets": bullets if bullets is not None else [
                     "Wrote the first published algorithm", "Computed Bernoulli numbers"]},
            ]},
            {"title": "Skills", "kind": "skills", "items": [
                {"title": "Mathematics", "bullets": ["analysis", "probability"]}]},
        ],
    }


async def create_resume(resume_api: httpx.AsyncClient, headers: dict[str, str],
                        document: dict[str, Any]) -> tuple[str, int]:
    response = await resume_api.post("/resume/create", json=document, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["version"]


async def compile_and_wait(client: httpx.AsyncClient, headers: dict[str, str], resume_id: str,
                           wait: float = 30, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/compile/{resume_id}", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return await wait_for_job(client, headers, response.json()["job_id"], wait)


async def wait_for_job(client: httpx.AsyncClient, headers: dict[str, str], job_id: str,
                       wait: float = 30, with_ats: bool = True) -> dict[str, Any]:
    """The job once finished; a succeeded one `with_ats` once its ATS report is made (it
    follows the job's success by a moment)."""
    response = await client.get(f"/compile/status/{job_id}", params={"wait": wait},
                                headers=headers)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    deadline = time.monotonic() + wait
    while with_ats and job["ats_status"] == "pending" and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        job = (await client.get(f"/compile/status/{job_id}", headers=headers)).json()
    return job


async def pdf_text(client: httpx.AsyncClient, headers: dict[str, str], job_id: str) -> str:
    response = await client.get(f"/compile/pdf/{job_id}", headers=headers)
    assert response.status_code == 200, response.text
    return pdftotext(response.content)


def run_dir_entries(work_dir: str) -> list[str]:
    """What the TeX runs left in the work directory: everything but the run directory the
    Typst engine keeps for its process's lifetime (its copy of the template folder)."""
    return [entry for entry in os.listdir(work_dir)
            if f"-{KEPT_RUN_PURPOSE}-" not in entry]


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf,
                          capture_output=True, check=True).stdout.decode()


def pdf_pages(pdf: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    line = next(x for x in info.stdout.decode().splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
