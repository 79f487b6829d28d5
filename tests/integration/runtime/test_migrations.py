"""An Alembic upgrade keeps the rows that were there before it."""

import asyncio
import json
import uuid

import asyncpg

from resume_service.registration import REGISTRATION as RESUME
from runtime.db import asyncpg_dsn
from runtime.migrations import downgrade, upgrade
from tests.conftest import POSTGRES_URL


def scratch_database_url() -> str:
    return f"{POSTGRES_URL}/migration_test_{uuid.uuid4().hex[:8]}"


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(f"{POSTGRES_URL}/postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def run(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def test_resume_upgrade_backfills_titles_and_keeps_existing_rows() -> None:
    url = scratch_database_url()
    name = url.rsplit("/", 1)[1]
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(RESUME.migrations, url, "0001")
        document = json.dumps({"title": "Kept", "template": "modern"})
        asyncio.run(run(url, "INSERT INTO resume.resumes (id, owner_id, version, document, "
                             "created_at, updated_at) VALUES ('r1', 'u1', 3, $1, now(), now())",
                        document))
        upgrade(RESUME.migrations, url, "head")
        [row] = asyncio.run(run(url, "SELECT * FROM resume.resumes"))
        assert (row["id"], row["version"], row["title"], row["template"]) == (
            "r1", 3, "Kept", "modern")
        downgrade(RESUME.migrations, url, "0001")
        assert len(asyncio.run(run(url, "SELECT * FROM resume.resumes"))) == 1
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
