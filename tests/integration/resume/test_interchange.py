"""JSON Resume through resume_service's API: the package's sample imported, then every export
format shows each of its fields' text; a resume made through the API with every field of the
document exports JSON Resume valid against the package's schema."""

import io
from typing import Any

import jsonschema
from docx import Document

from contracts.resume import ResumeDocument
from resume_service.json_resume import from_json_resume
from tests import json_resume_package as package
from tests.samples import every_field

SAMPLE = package.load("sample.resume.json")
NOT_SHOWN = {"$schema", "meta", "image"}  # what a reader of a resume is not shown


def shown_texts(value: Any, key: str = "") -> list[str]:
    """Every text of the JSON Resume document a reader is shown (URLs without their
    scheme, as the exports show them)."""
    if key in NOT_SHOWN:
        return []
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in shown_texts(v, k)]
    if isinstance(value, list):
        return [t for v in value for t in shown_texts(v, key)]
    if isinstance(value, str) and value:
        return [value.split("://", 1)[-1].rstrip("/") if key == "url" else value]
    return []


def docx_text(data: bytes) -> str:
    """The paragraphs' text, and the addresses their links go to."""
    word = Document(io.BytesIO(data))
    return "\n".join([*(paragraph.text for paragraph in word.paragraphs),
                      *(link.address for paragraph in word.paragraphs
                        for link in paragraph.hyperlinks)])


def squeezed(text: str) -> str:
    return " ".join(text.replace("\\", "").split())


async def test_every_export_of_an_imported_json_resume_shows_each_of_its_fields(
        resume_api, as_user, user_id):
    headers = as_user(user_id)
    imported = await resume_api.post("/resume/import", json=SAMPLE, headers=headers)
    assert imported.status_code == 201, imported.text
    base = f"/resume/{imported.json()['id']}/export"
    exports = {name: await resume_api.get(f"{base}/{name}", headers=headers)
               for name in ("markdown", "text", "docx")}
    texts = {"markdown": exports["markdown"].text, "text": exports["text"].text,
             "docx": docx_text(exports["docx"].content)}
    for name, text in texts.items():
        missing = [t for t in shown_texts(SAMPLE) if squeezed(t) not in squeezed(text)]
        assert missing == [], (name, missing)


async def test_a_resume_with_every_field_exports_valid_json_resume(resume_api, as_user,
                                                                   user_id):
    headers = as_user(user_id)
    document = every_field().model_dump(mode="json")
    richest = from_json_resume(SAMPLE).model_dump(mode="json")
    document["contact"] = {**richest["contact"], **{
        k: v for k, v in document["contact"].items() if v}}
    document["sections"] += richest["sections"]
    document["meta"], document["extensions"] = richest["meta"], {"x-theme": {"name": "even"}}
    ResumeDocument.model_validate(document)
    created = await resume_api.post("/resume/create", json=document, headers=headers)
    assert created.status_code == 201, created.text
    exported = await resume_api.get(f"/resume/{created.json()['id']}/export/json-resume",
                                    headers=headers)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "application/json"
    jsonschema.validate(exported.json(), package.schema(),
                        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    again = await resume_api.post("/resume/import", json=exported.json(), headers=headers)
    assert again.status_code == 201, again.text
    assert again.json()["contact"] == created.json()["contact"]
