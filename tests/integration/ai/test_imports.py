"""AI import end to end: a PDF made by compile_service's Typst engine and a DOCX in the
shape of the DOCX export go to POST /ai/import, ai_service extracts their text (poppler,
python-docx), its worker asks the fake Gemini through the real google-genai client for an
ImportedResume, and resume_service creates the resume from `ImportFinished` over RabbitMQ."""

import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from ai_service.prompt import IMPORT_INSTRUCTION
from ai_service.settings import AiSettings
from compile_service.rendering import Renderer
from compile_service.typesetting.typst import Typst
from contracts.resume import ResumeDocument
from runtime.db import asyncpg_dsn
from tests.fakes.gemini import FakeGemini, Reply
from tests.integration.ai.conftest import (
    RATING_LIMIT,
    Headers,
    ai_client,
    created_resume,
    import_and_wait,
    token,
    upload,
    wait_for_import,
)
from tests.integration.ai.resume_files import (
    DOCX_TYPE,
    docx_of,
    pdf_of,
    text_of,
    typst_engine,
    zip_bomb,
)
from tests.samples import engineer

BLANK_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids"
             b"[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>"
             b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.fixture(scope="module")
async def typst() -> AsyncIterator[tuple[Typst, Renderer]]:
    async for engine in typst_engine():
        yield engine


def marked(mark: str) -> ResumeDocument:
    """The engineer sample under a name only this test uses (the fake's scripts key on it)."""
    document = engineer()
    return document.model_copy(update={"contact": document.contact.model_copy(
        update={"name": f"Maria {mark}"})})


async def first_event(database_url: str, resume_id: str) -> dict[str, Any]:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        row = await connection.fetchrow(
            "SELECT event_type, payload FROM resume.events WHERE stream_id = $1 "
            "AND stream_version = 1", resume_id)
    finally:
        await connection.close()
    assert row is not None
    return {"event_type": row["event_type"], **json.loads(row["payload"])}


async def test_a_pdf_made_by_the_compile_service_imports_back_into_the_same_resume(
    ai_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, fake_gemini: FakeGemini,
    typst: tuple[Typst, Renderer], database_url: str, as_user: Headers, user_id: str,
) -> None:
    pdf = await pdf_of(typst, engineer())
    response = await upload(ai_api, as_user(user_id), "maria-schmidt.pdf", pdf)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/ai/imports/{response.json()['job_id']}"
    assert response.json()["file_kind"] == "pdf" and response.json()["cached"] is False

    job = await wait_for_import(ai_api, as_user(user_id), response.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["model_calls"] == 1 and job["shortened"] == 0
    resume = await created_resume(resume_api, as_user(user_id), job["resume_id"])
    assert text_of(resume) == text_of(engineer())
    assert resume["title"] == "maria-schmidt"

    event = await first_event(database_url, job["resume_id"])
    assert event["event_type"] == "ResumeCreated"
    assert event["imported_from"] == {"format": "ai", "file_name": "maria-schmidt.pdf",
                                      "model": "gemini-2.5-flash"}


async def test_a_docx_in_the_exports_shape_imports_back_into_the_same_resume(
    ai_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, database_url: str,
    as_user: Headers, user_id: str,
) -> None:
    job = await import_and_wait(ai_api, as_user(user_id), "cv.docx", docx_of(engineer()))
    assert job["status"] == "succeeded", job
    assert job["file_kind"] == "docx"
    resume = await created_resume(resume_api, as_user(user_id), job["resume_id"])
    assert text_of(resume) == text_of(engineer())
    history = await resume_api.get(f"/resume/{job['resume_id']}/history",
                                   headers=as_user(user_id))
    assert history.json()[0]["summary"] == "imported “cv” (ai)"
    assert (await first_event(database_url, job["resume_id"]))["imported_from"]["file_name"] \
        == "cv.docx"


async def test_the_text_goes_as_data_with_the_import_schema_and_never_the_file(
    ai_api: httpx.AsyncClient, fake_gemini: FakeGemini, as_user: Headers, user_id: str,
) -> None:
    mark = token()
    data = docx_of(marked(mark))
    await import_and_wait(ai_api, as_user(user_id), "cv.docx", data)

    seen = next(s for s in fake_gemini.requests if mark in str(s.body))
    assert seen.body["systemInstruction"]["parts"][0]["text"] == IMPORT_INSTRUCTION
    user_text = seen.body["contents"][0]["parts"][0]["text"]
    assert user_text.startswith(f"# Maria {mark}") and "• Led the rewrite" in user_text
    config = seen.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert {"contact", "sections"} <= set(config["responseSchema"]["properties"])
    assert "PK" not in user_text and "word/document.xml" not in user_text


async def test_a_malformed_answer_is_asked_again_once_then_fails_the_job_clearly(
    ai_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, fake_gemini: FakeGemini,
    as_user: Headers, user_id: str,
) -> None:
    mark = token()
    fake_gemini.script(mark, Reply.malformed(),
                       Reply.text('{"contact": {"name": "x"}, "sections": "none"}'))
    job = await import_and_wait(ai_api, as_user(user_id), "cv.docx", docx_of(marked(mark)))
    assert job["status"] == "failed" and job["resume_id"] is None
    assert job["error"]["code"] == "invalid_output"
    assert "import schema" in job["error"]["message"] and "sections" in job["error"]["message"]
    assert job["model_calls"] == 2 and fake_gemini.calls(mark) == 2


async def test_a_malformed_answer_then_a_good_one_imports(
    ai_api: httpx.AsyncClient, fake_gemini: FakeGemini, as_user: Headers, user_id: str,
) -> None:
    mark = token()
    fake_gemini.script(mark, Reply.malformed())
    job = await import_and_wait(ai_api, as_user(user_id), "cv.docx", docx_of(marked(mark)))
    assert job["status"] == "succeeded" and job["model_calls"] == 2


async def test_a_section_kind_the_model_invents_is_custom_and_overlong_text_is_cut(
    ai_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, fake_gemini: FakeGemini,
    as_user: Headers, user_id: str,
) -> None:
    mark = token()
    answer = {"contact": {"name": "Ada " + "x" * 300, "links": [
                  {"label": "GitHub", "url": "github.com/ada"}, {"label": "?", "url": "no url"}]},
              "sections": [{"title": "Hobbies", "kind": "hobbies",
                            "items": [{"title": "Chess", "bullets": ["b" * 1200]}]}]}
    fake_gemini.script(mark, Reply.text(json.dumps(answer)))
    job = await import_and_wait(ai_api, as_user(user_id), "cv.docx", docx_of(marked(mark)))
    assert job["status"] == "succeeded", job
    assert job["shortened"] == 2
    resume = await created_resume(resume_api, as_user(user_id), job["resume_id"])
    assert resume["sections"][0]["kind"] == "custom"
    assert len(resume["contact"]["name"]) == 200
    assert len(resume["sections"][0]["items"][0]["bullets"][0]) == 1000
    assert resume["contact"]["links"] == [{"label": "GitHub", "url": "https://github.com/ada"}]


async def test_the_same_file_twice_returns_the_first_import(
    ai_api: httpx.AsyncClient, fake_gemini: FakeGemini, as_user: Headers, user_id: str,
) -> None:
    mark = token()
    data = docx_of(marked(mark))
    first = await import_and_wait(ai_api, as_user(user_id), "cv.docx", data)
    again = await upload(ai_api, as_user(user_id), "renamed.docx", data)
    assert again.status_code == 200, again.text
    assert again.json()["job_id"] == first["job_id"] and again.json()["cached"] is True
    assert again.json()["resume_id"] == first["resume_id"]
    assert fake_gemini.calls(mark) == 1
    # another user's upload of the same bytes is an import of its own
    other = await upload(ai_api, as_user(f"other-{token()}"), "cv.docx", data)
    assert other.status_code == 202 and other.json()["job_id"] != first["job_id"]


async def test_another_users_import_is_404(
    ai_api: httpx.AsyncClient, as_user: Headers, user_id: str,
) -> None:
    job = await import_and_wait(ai_api, as_user(user_id), "cv.docx", docx_of(marked(token())))
    stranger = as_user(f"stranger-{token()}")
    status = await ai_api.get(f"/ai/imports/{job['job_id']}", headers=stranger)
    assert status.status_code == 404 and status.json()["error"]["code"] == "import_not_found"
    waited = await ai_api.get(f"/ai/imports/{job['job_id']}", params={"wait": 1},
                              headers=stranger)
    assert waited.status_code == 404
    as_rating = await ai_api.get(f"/ai/ratings/{job['job_id']}", headers=as_user(user_id))
    assert as_rating.status_code == 404  # an import job is no rating job
    unknown = await ai_api.get(f"/ai/imports/{uuid.uuid4()}", headers=as_user(user_id))
    assert unknown.status_code == 404


async def test_a_text_file_named_pdf_is_415(ai_api: httpx.AsyncClient, as_user: Headers,
                                            user_id: str) -> None:
    response = await upload(ai_api, as_user(user_id), "resume.pdf",
                            b"Maria Schmidt\nBackend engineer\n", "application/pdf")
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"


async def test_a_zip_that_is_no_word_document_and_a_zip_bomb_are_415(
    ai_api: httpx.AsyncClient, as_user: Headers, user_id: str,
) -> None:
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("[Content_Types].xml", "<Types/>")
    for data in (plain.getvalue(), zip_bomb()):
        response = await upload(ai_api, as_user(user_id), "cv.docx", data, DOCX_TYPE)
        assert response.status_code == 415, response.text


async def test_an_oversize_file_is_413(ai_api: httpx.AsyncClient, as_user: Headers,
                                       user_id: str) -> None:
    limit = AiSettings().import_max_file_bytes
    response = await upload(ai_api, as_user(user_id), "cv.pdf", b"%PDF-" + b"0" * limit)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "file_too_large"
    body = await upload(ai_api, as_user(user_id), "cv.pdf", b"%PDF-" + b"0" * (limit * 2))
    assert body.status_code == 413 and body.json()["error"]["code"] == "body_too_large"
    # the upload's limit is its own: other routes keep the common one
    rate = await ai_api.post(f"/ai/rate/{uuid.uuid4()}", content=b"{}" + b" " * 300_000,
                             headers={**as_user(user_id), "Content-Type": "application/json"})
    assert rate.status_code == 413


async def test_a_pdf_without_text_is_422_no_text_and_a_broken_one_422_unreadable(
    ai_api: httpx.AsyncClient, as_user: Headers, user_id: str,
) -> None:
    blank = await upload(ai_api, as_user(user_id), "scan.pdf", BLANK_PDF)
    assert blank.status_code == 422 and blank.json()["error"]["code"] == "no_text"
    broken = await upload(ai_api, as_user(user_id), "cv.pdf", b"%PDF-1.7 garbage")
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "unreadable_file"


async def test_an_upload_without_a_file_part_is_422_and_without_identity_401(
    ai_api: httpx.AsyncClient, as_user: Headers, user_id: str,
) -> None:
    missing = await ai_api.post("/ai/import", data={"other": "x"}, headers=as_user(user_id))
    assert missing.status_code == 422
    unframed = await ai_api.post("/ai/import", content=b"x", headers={
        **as_user(user_id), "Content-Type": "multipart/form-data"})  # no boundary
    assert unframed.status_code == 400
    anonymous = await ai_api.post("/ai/import", files={"file": ("cv.pdf", BLANK_PDF)})
    assert anonymous.status_code == 401


async def test_imports_take_the_per_user_limit(
    ai_api: httpx.AsyncClient, as_user: Headers, user_id: str,
) -> None:
    statuses = [(await upload(ai_api, as_user(user_id), "cv.docx",
                              docx_of(marked(token())))).status_code
                for _ in range(RATING_LIMIT + 1)]
    assert statuses == [202] * RATING_LIMIT + [429]


@pytest.fixture(scope="module")
async def keyless_ai_api(ai_env: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    settings = AiSettings.model_validate(
        {**ai_env, "gemini_api_key": "", "job_worker_in_app": False})
    async for client in ai_client(settings):
        yield client


async def test_without_an_api_key_import_answers_503(
    keyless_ai_api: httpx.AsyncClient, as_user: Headers, user_id: str,
) -> None:
    response = await upload(keyless_ai_api, as_user(user_id), "cv.docx", docx_of(engineer()))
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "ai_not_configured"
