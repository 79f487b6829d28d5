"""Resume events of schema version 1, written before the document had a `locale`, still
fold: the event store reads them through contracts.upcasting as today's version with `locale: "en"`,
the history and past versions answer, and an update on top of them records today's version. The
read model's old documents get the field from migration 0004. A locale that is no BCP 47
tag is a 422 like any other bad field."""

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.resume import DOCUMENT_SCHEMA_VERSION
from contracts.resume_events import ResumeCreated
from contracts.topology import RESUME_PRODUCER
from resume_service.registration import REGISTRATION as RESUME
from resume_service.tables import event_tables
from runtime.db import asyncpg_dsn, make_engine, make_sessionmaker
from runtime.eventstore import EventStore
from runtime.migrations import downgrade, ensure_database, upgrade
from tests.conftest import POSTGRES_URL, drop_database

# a document as the code before schema version 2 wrote it: no `locale`
V1_DOCUMENT = {
    "title": "Old resume", "template": "classic",
    "contact": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "",
                "location": "London", "links": []},
    "sections": [{"id": str(uuid.uuid4()), "title": "Experience", "kind": "experience",
                  "items": [{"id": str(uuid.uuid4()), "title": "Engineer", "subtitle": "",
                             "location": "", "start_date": "1842-01", "end_date": "",
                             "description": "", "bullets": ["Wrote the first program"]}]}],
}


async def write_v1_resume(database_url: str, owner_id: str) -> str:
    """A resume created by the version 1 code: its ResumeCreated row and its read-model
    row, neither with a locale."""
    resume_id, now = str(uuid.uuid4()), datetime.now(UTC)
    payload = {"resume_id": resume_id, "owner_id": owner_id, "document": V1_DOCUMENT}
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute(
            "INSERT INTO resume.events (event_id, stream_id, stream_version, event_type, "
            "schema_version, payload, metadata, recorded_at) "
            "VALUES ($1, $2, 1, $3, 1, $4::jsonb, $5::jsonb, $6)",
            uuid.uuid4(), resume_id, ResumeCreated.event_type, json.dumps(payload),
            json.dumps({"user_id": owner_id, "correlation_id": "old-request"}), now)
        await conn.execute(
            "INSERT INTO resume.resumes (id, owner_id, version, title, template, document, "
            "created_at, updated_at) VALUES ($1, $2, 1, $3, $4, $5::jsonb, $6, $6)",
            resume_id, owner_id, V1_DOCUMENT["title"], V1_DOCUMENT["template"],
            json.dumps(V1_DOCUMENT), now)
    finally:
        await conn.close()
    return resume_id


async def test_a_version_1_event_folds_into_a_document_in_english(
        resume_api: httpx.AsyncClient, database_url: str, as_user: Any, user_id: str) -> None:
    resume_id = await write_v1_resume(database_url, user_id)
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            [created] = await EventStore(event_tables, RESUME_PRODUCER).read_stream(
                session, resume_id)
    finally:
        await engine.dispose()
    assert (created.event_type, created.schema_version) == (
        ResumeCreated.event_type, DOCUMENT_SCHEMA_VERSION)
    event = ResumeCreated.model_validate(created.payload)
    assert event.document.locale == "en"
    assert event.document.sections[0].items[0].bullets == ["Wrote the first program"]

    headers = as_user(user_id)
    at_1 = await resume_api.get(f"/resume/{resume_id}/versions/1", headers=headers)
    assert at_1.status_code == 200, at_1.text
    assert at_1.json()["document"]["locale"] == "en"
    history = await resume_api.get(f"/resume/{resume_id}/history", headers=headers)
    assert [e["version"] for e in history.json()] == [1]


async def test_an_update_on_a_version_1_stream_records_version_2_with_its_locale(
        resume_api: httpx.AsyncClient, database_url: str, as_user: Any, user_id: str) -> None:
    resume_id = await write_v1_resume(database_url, user_id)
    headers = as_user(user_id)
    updated = await resume_api.put(f"/resume/update/{resume_id}", headers=headers,
                                   json={**V1_DOCUMENT, "locale": "de-CH", "version": 1})
    assert updated.status_code == 200, updated.text
    assert (await resume_api.get(f"/resume/{resume_id}", headers=headers)).json()[
        "locale"] == "de-CH"
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        versions = await conn.fetch("SELECT schema_version FROM resume.events "
                                    "WHERE stream_id = $1 ORDER BY stream_version", resume_id)
    finally:
        await conn.close()
    assert [v["schema_version"] for v in versions] == [1, DOCUMENT_SCHEMA_VERSION]
    restored = await resume_api.post(f"/resume/{resume_id}/restore/1", headers=headers)
    assert restored.status_code in (200, 201), restored.text
    assert (await resume_api.get(f"/resume/{resume_id}", headers=headers)).json()[
        "locale"] == "en"


TOO_LONG = "de-" + "-".join(["abcdefgh"] * 4)  # the shape of a tag, 38 characters


@pytest.mark.parametrize("locale", ["", "e", "english-language-tag", "de_DE", "ar-", "1a",
                                    TOO_LONG, "de-" + "a" * 9, "fr FR", "ar\u0000"])
async def test_a_locale_that_is_no_language_tag_is_a_422(
        resume_api: httpx.AsyncClient, as_user: Any, user_id: str, locale: str) -> None:
    response = await resume_api.post("/resume/create", headers=as_user(user_id),
                                     json={**V1_DOCUMENT, "locale": locale})
    assert response.status_code == 422, response.text
    assert "locale" in response.text


async def test_a_resume_keeps_its_locale(resume_api: httpx.AsyncClient, as_user: Any,
                                         user_id: str) -> None:
    headers = as_user(user_id)
    for locale in ("ar", "fa-IR", "zh-Hant-TW", "de-CH-1996"):
        created = await resume_api.post("/resume/create", headers=headers,
                                        json={**V1_DOCUMENT, "locale": locale})
        assert created.status_code == 201, created.text
        read = await resume_api.get(f"/resume/{created.json()['id']}", headers=headers)
        assert read.json()["locale"] == locale
    default = await resume_api.post("/resume/create", headers=headers, json=V1_DOCUMENT)
    assert default.json()["locale"] == "en"


def test_migration_0004_gives_old_read_model_documents_the_default_locale() -> None:
    url = f"{POSTGRES_URL}/locale_migration_{uuid.uuid4().hex[:8]}"
    asyncio.run(ensure_database(url))
    try:
        upgrade(RESUME.migrations, url, "0003")
        asyncio.run(_insert_row(url, "old", V1_DOCUMENT))
        asyncio.run(_insert_row(url, "kept", {**V1_DOCUMENT, "locale": "fr"}))
        upgrade(RESUME.migrations, url, "head")
        assert asyncio.run(_locales(url)) == {"old": "en", "kept": "fr"}
        downgrade(RESUME.migrations, url, "0003")
        assert asyncio.run(_locales(url)) == {"old": None, "kept": None}
    finally:
        asyncio.run(drop_database(url))


async def _insert_row(url: str, resume_id: str, document: dict[str, Any]) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            "INSERT INTO resume.resumes (id, owner_id, version, title, template, document, "
            "created_at, updated_at) VALUES ($1, 'u1', 1, 't', 'classic', $2::jsonb, now(), "
            "now())", resume_id, json.dumps(document))
    finally:
        await conn.close()


async def _locales(url: str) -> dict[str, str | None]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch("SELECT id, document->>'locale' AS locale FROM resume.resumes")
    finally:
        await conn.close()
    return {row["id"]: row["locale"] for row in rows}
