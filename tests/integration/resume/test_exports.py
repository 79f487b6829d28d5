"""GET /resume/{id}/export/{format} through resume_service's real app, on the real PostgreSQL,
Redis and RabbitMQ: every format from a resume made through the API, its ETag and 304, old
versions, another user's resume, an unknown format and a title that is not ASCII."""

import io
import re
from typing import Any
from urllib.parse import unquote

import docx
import httpx
import pytest

from contracts.interchange import NativeExport
from contracts.resume import ResumeDocument
from resume_service.exports.formats import DOCX_MEDIA_TYPE
from tests.samples import every_field, field_texts
from tests.unit.resume.test_exports import assert_in_order, urls

_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


async def created(client: httpx.AsyncClient, headers: dict[str, str],
                  document: ResumeDocument) -> dict[str, Any]:
    response = await client.post("/resume/create", json=document.model_dump(mode="json"),
                                 headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


DOCUMENT = every_field()


@pytest.fixture
async def sample(resume_api: httpx.AsyncClient, as_user: Any,
                 user_id: str) -> tuple[str, dict[str, str]]:
    headers = as_user(user_id)
    return (await created(resume_api, headers, DOCUMENT))["id"], headers


async def export(client: httpx.AsyncClient, resume_id: str, name: str,
                 headers: dict[str, str], **params: Any) -> httpx.Response:
    return await client.get(f"/resume/{resume_id}/export/{name}", headers=headers,
                            params=params)


async def test_markdown_and_text_show_every_field_in_order(resume_api, sample):
    resume_id, headers = sample
    document = DOCUMENT
    markdown = await export(resume_api, resume_id, "markdown", headers)
    assert markdown.status_code == 200, markdown.text
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert_in_order(_ESCAPED.sub(r"\1", markdown.text), field_texts(document))
    text = await export(resume_api, resume_id, "text", headers)
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert_in_order(text.text, field_texts(document))


async def test_docx_has_the_name_sections_bullets_and_links_as_word_structures(
        resume_api, sample):
    resume_id, headers = sample
    document = DOCUMENT
    response = await export(resume_api, resume_id, "docx", headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == DOCX_MEDIA_TYPE
    read = docx.Document(io.BytesIO(response.content))
    styled = [(p.style.name if p.style else "", p.text) for p in read.paragraphs]
    assert styled[0] == ("Title", document.contact.name)
    assert [t for s, t in styled if s == "Heading 1"] == [s.title for s in document.sections]
    assert [t for s, t in styled if s == "List Bullet"] == [
        _NOT_XML.sub("", b) for s in document.sections for i in s.items for b in i.bullets]
    assert [h.address for p in read.paragraphs for h in p.hyperlinks] == urls(document)


async def test_native_export_is_the_document_in_its_envelope(resume_api, sample):
    resume_id, headers = sample
    response = await export(resume_api, resume_id, "native", headers)
    assert response.headers["content-type"] == "application/json"
    exported = NativeExport.model_validate_json(response.content)
    assert exported.format == "resume-builder"
    assert exported.document == DOCUMENT


async def test_the_file_is_named_after_a_title_that_is_not_ascii(resume_api, sample):
    resume_id, headers = sample
    response = await export(resume_api, resume_id, "docx", headers)
    disposition = response.headers["content-disposition"]
    assert disposition.isascii()
    match = re.fullmatch(r"attachment; filename=\"([ !#-\[\]-~]+)\"; "
                         r"filename\*=UTF-8''([A-Za-z0-9%!#$&+.^_`|~-]+)", disposition)
    assert match, disposition
    assert match[1] == "Zoe Alund CV Backend 2026.docx"
    assert unquote(match[2]) == "Zoë Ålund CV Backend — 2026.docx"


async def test_an_unchanged_export_is_a_304_and_an_update_changes_its_etag(
        resume_api, sample):
    resume_id, headers = sample
    first = await export(resume_api, resume_id, "markdown", headers)
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = await resume_api.get(f"/resume/{resume_id}/export/markdown",
                                 headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other_format = await resume_api.get(f"/resume/{resume_id}/export/text",
                                        headers={**headers, "If-None-Match": etag})
    assert other_format.status_code == 200 and other_format.headers["etag"] != etag
    await update_title(resume_api, resume_id, headers, "Changed")
    changed = await resume_api.get(f"/resume/{resume_id}/export/markdown",
                                   headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


async def update_title(client: httpx.AsyncClient, resume_id: str, headers: dict[str, str],
                       title: str) -> None:
    current = (await client.get(f"/resume/{resume_id}", headers=headers)).json()
    response = await client.put(f"/resume/update/{resume_id}", headers=headers,
                                json={**current, "title": title})
    assert response.status_code == 200, response.text


async def test_version_1_after_an_update_exports_the_old_title(resume_api, sample):
    resume_id, headers = sample
    await update_title(resume_api, resume_id, headers, "New title")
    old = await export(resume_api, resume_id, "native", headers, version=1)
    assert old.status_code == 200, old.text
    assert NativeExport.model_validate_json(old.content).document.title == DOCUMENT.title
    assert "Zo" in old.headers["content-disposition"]
    current = await export(resume_api, resume_id, "native", headers, version=2)
    assert NativeExport.model_validate_json(current.content).document.title == "New title"
    assert 'filename="New title.json"' in current.headers["content-disposition"]
    assert old.headers["etag"] != current.headers["etag"]
    cached = await resume_api.get(f"/resume/{resume_id}/export/native", params={"version": 1},
                                  headers={**headers, "If-None-Match": old.headers["etag"]})
    assert cached.status_code == 304


async def test_a_version_the_resume_does_not_have_is_a_404_and_no_version_a_422(
        resume_api, sample):
    resume_id, headers = sample
    missing = await export(resume_api, resume_id, "text", headers, version=5)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "version_not_found"
    for bad in (0, 2**31, "one"):
        assert (await export(resume_api, resume_id, "text", headers,
                             version=bad)).status_code == 422


async def test_another_users_resume_or_an_unknown_one_is_a_404(resume_api, sample, as_user):
    resume_id, _ = sample
    stranger = as_user("user-stranger")
    for name in ("native", "markdown", "docx"):
        response = await export(resume_api, resume_id, name, stranger)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "resume_not_found"
    unknown = await export(resume_api, "00000000-0000-4000-8000-000000000000", "text", stranger)
    assert unknown.status_code == 404


async def test_an_unknown_format_is_a_422_naming_the_formats(resume_api, sample, as_user):
    resume_id, headers = sample
    for who in (headers, as_user("user-stranger")):  # checked before the owner
        response = await export(resume_api, resume_id, "pdf", who)
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "unknown_format"
        assert error["formats"] == ["native", "json-resume", "markdown", "text", "docx"]


async def test_an_export_needs_a_signed_in_caller(resume_api, sample):
    resume_id, _ = sample
    assert (await export(resume_api, resume_id, "text", {})).status_code == 401
