"""What a succeeded compile job records of its PDF, through the API with the real worker:
`pages`, `overflow` for a template meant for one page, and the ATS round trip; a cached
finish (the PDF stored already) gives the same figures, read from beside the artifact."""

from pathlib import Path
from typing import Any

import httpx
import pytest

from compile_service import analysis
from compile_service.artifacts import DirectoryStore
from compile_service.compiler import already_stored
from contracts.compile_events import CompileFinished
from tests.integration.compile.conftest import (
    Headers,
    compile_and_wait,
    create_resume,
    pdf_pages,
    unique,
)
from tests.samples import academic, engineer

FIGURES = ("pages", "overflow", "ats")


def figures(job: dict[str, Any]) -> dict[str, Any]:
    return {name: job[name] for name in FIGURES}


async def test_a_one_page_template_records_pages_overflow_and_ats_and_a_cached_finish_too(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Headers,
        user_id: str) -> None:
    headers = as_user(user_id)
    document = engineer().model_dump(mode="json")
    document["contact"]["name"] = unique("Maria Schmidt")
    resume_id, version = await create_resume(resume_api, headers, document)
    first = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                   template="compact")
    assert first["status"] == "succeeded" and not first["cached"], first
    assert first["pages"] == 1
    assert first["overflow"] == {"overflowed": False, "extra_pages": 0, "past_pt": 0.0}
    ats = first["ats"]
    assert ats["score"] >= 95 and ats["checked"] > 10 and ats["issues"] == [], ats
    again = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                   template="compact")
    assert again["cached"] and again["job_id"] != first["job_id"], again
    assert figures(again) == figures(first)


async def test_a_long_resume_overflows_a_one_page_template_and_not_a_multi_page_one(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Headers,
        user_id: str) -> None:
    headers = as_user(user_id)
    document = academic(48).model_dump(mode="json")
    document["contact"]["name"] = unique("Grace Hopper")
    resume_id, version = await create_resume(resume_api, headers, document)
    compact = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                     template="compact")
    assert compact["status"] == "succeeded", compact
    assert compact["pages"] == 3
    assert compact["overflow"]["overflowed"] and compact["overflow"]["extra_pages"] == 2
    assert compact["overflow"]["past_pt"] > 0
    cv = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                template="academic")
    assert cv["status"] == "succeeded", cv
    assert cv["pages"] >= 3 and cv["overflow"] is None and cv["ats"]["score"] >= 95, cv


async def test_a_failed_job_records_no_figures(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Headers,
        user_id: str) -> None:
    headers = as_user(user_id)
    document = engineer().model_dump(mode="json")
    resume_id, version = await create_resume(resume_api, headers, document)
    job = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                 template="broken")
    assert job["status"] == "failed", job
    assert figures(job) == {"pages": None, "overflow": None, "ats": None}


async def test_figures_are_stored_beside_the_pdf_and_their_absence_is_no_error(
        tmp_path: Any) -> None:
    store, key = DirectoryStore(tmp_path), "ab" * 32
    assert await store.figures(key) is None
    assert already_stored("j", key, None) == already_stored("j", key, {"pages": "junk"}) == \
        CompileFinished(job_id="j", outcome="succeeded", artifact_key=key, cached=True)
    await store.put_figures(key, {"pages": 2, "overflow": None, "ats": None})
    assert await store.figures(key) == {"pages": 2, "overflow": None, "ats": None}
    assert already_stored("j", key, await store.figures(key)).pages == 2
    (tmp_path / "ab" / f"{key}.json").write_text("{not json")
    assert await store.figures(key) is None


def test_a_finish_recorded_before_the_figures_still_folds() -> None:
    old = CompileFinished.model_validate({
        "job_id": "j", "outcome": "succeeded", "artifact_key": "ab" * 32, "cached": False,
        "engine_ms": 12})
    assert (old.pages, old.overflow, old.ats) == (None, None, None)
    assert not set(FIGURES) & set(old.model_dump(mode="json"))  # written in the older shape
    assert old.model_copy(update={"pages": 2}).model_dump(mode="json")["pages"] == 2


async def test_a_latex_job_records_its_page_count_from_the_tex_log(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Headers,
        user_id: str) -> None:
    headers = as_user(user_id)
    document = academic(48).model_dump(mode="json")
    document["contact"]["name"] = unique("Grace Hopper")
    resume_id, version = await create_resume(resume_api, headers, document)
    for template in ("classic", "modern"):
        job = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                     template=template)
        assert job["status"] == "succeeded", job
        pdf = (await compile_api.get(job["pdf_url"], headers=headers)).content
        assert job["pages"] == pdf_pages(pdf) > 1 and job["overflow"] is None, job
        assert job["ats"] is not None and job["ats"]["checked"] > 0


async def test_the_ats_report_follows_the_success_and_a_lost_one_is_made_on_a_later_read(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Headers,
        user_id: str, compile_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    headers = as_user(user_id)
    document = engineer().model_dump(mode="json")
    document["contact"]["name"] = unique("Maria Schmidt")
    resume_id, version = await create_resume(resume_api, headers, document)
    job = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                 template="standard")
    assert job["status"] == "succeeded" and job["ats_status"] == "ready", job
    made = job["ats"]
    assert made["score"] >= 95, made
    # the process making a report died: its PDF stored with the engine's figures alone
    store = DirectoryStore(Path(compile_env["artifacts_dir"]))
    pdf = await compile_api.get(job["pdf_url"], headers=headers)
    key = pdf.headers["etag"].strip('"')  # the PDF's content key
    await store.put_figures(key, {"pages": 1, "overflow": None})
    soon = (await compile_api.get(f"/compile/status/{job['job_id']}", headers=headers)).json()
    assert (soon["ats_status"], soon["ats"]) == ("pending", None), soon
    monkeypatch.setattr(analysis, "MADE_WITHIN_SECONDS", 0.0)
    later = (await compile_api.get(f"/compile/status/{job['job_id']}", headers=headers)).json()
    assert (later["ats_status"], later["ats"]) == ("ready", made), later
    assert (await store.figures(key) or {})["ats"] == made
