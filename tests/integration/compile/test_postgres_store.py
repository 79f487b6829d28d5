"""The artifact store in PostgreSQL (compile_service.artifacts.PostgresStore), the default:
PDFs by content key in chunks, their figures and page-1 previews, written once per key
however many workers store it at once, read back chunk by chunk; a PDF compiled behind one
compile_service instance is served by another."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from compile_service.artifacts import (
    STORED_CHUNK_BYTES,
    ArtifactMissing,
    ArtifactStoreUnavailable,
    PostgresStore,
    read_whole,
)
from compile_service.previews import Previewer
from compile_service.settings import CompileSettings
from runtime.db import make_engine
from runtime.http import ApiError
from tests.integration.compile.conftest import (
    Headers,
    compile_and_wait,
    compile_client,
    create_resume,
    resume_document,
)
from tests.integration.compile.test_preview import minimal_pdf


def new_key() -> str:
    return secrets.token_hex(32)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


async def chunk_rows(db: AsyncEngine, key: str) -> int:
    async with db.connect() as connection:
        count = await connection.scalar(
            text("SELECT count(*) FROM compile.artifact_chunks WHERE key = :key"), {"key": key})
    return int(count)


async def test_a_pdf_goes_in_and_comes_back_in_chunks_with_its_figures_and_preview(
        db: AsyncEngine) -> None:
    store, key = PostgresStore(db), new_key()
    pdf = secrets.token_bytes(2 * STORED_CHUNK_BYTES + 1234)
    assert (await store.has(key), await store.size(key), await store.figures(key)) == (
        False, None, None)
    await store.put_figures(key, {"pages": 2, "overflow": None})
    assert not await store.has(key)  # figures first: no PDF yet
    await store.put(key, pdf)
    assert await store.has(key) and await store.size(key) == len(pdf)
    chunks = [chunk async for chunk in store.chunks(key)]
    assert [len(c) for c in chunks] == [STORED_CHUNK_BYTES, STORED_CHUNK_BYTES, 1234]
    assert b"".join(chunks) == pdf == await read_whole(store, key)
    assert await store.figures(key) == {"pages": 2, "overflow": None}
    assert await store.preview(key) is None
    await store.put_preview(key, b"\x89PNG page one")
    assert await store.preview(key) == b"\x89PNG page one"
    await store.put_figures(key, {"pages": 2, "overflow": None, "ats": {"score": 99}})
    assert (await store.figures(key) or {})["ats"] == {"score": 99}


async def test_a_pdf_and_its_figures_go_in_together_once(db: AsyncEngine) -> None:
    store, key = PostgresStore(db), new_key()
    assert await store.stored(key) is None
    await store.put(key, b"%PDF first", {"pages": 1, "overflow": None})
    assert await store.stored(key) == {"pages": 1, "overflow": None}
    await store.put(key, b"%PDF second", {"pages": 9})  # stored already: nothing changes
    assert await read_whole(store, key) == b"%PDF first"
    assert await store.stored(key) == {"pages": 1, "overflow": None}
    other = new_key()
    await store.put_preview(other, b"\x89PNG")  # a row without its PDF yet
    await store.put(other, b"%PDF")  # figures not given: none, and the preview stays
    assert await store.stored(other) == {} and await store.preview(other) == b"\x89PNG"


async def test_a_key_not_stored_is_missing_and_a_bad_key_is_refused(db: AsyncEngine) -> None:
    store, key = PostgresStore(db), new_key()
    with pytest.raises(ArtifactMissing):
        _ = [chunk async for chunk in store.chunks(key)]
    assert await read_whole(store, key) is None
    with pytest.raises(ValueError):
        await store.has("../../etc/passwd")


async def test_writers_of_one_key_at_once_store_it_once_and_whole(db: AsyncEngine) -> None:
    store, key = PostgresStore(db), new_key()
    # two renders of one content may differ in their bytes (a timestamp): one wins, whole
    versions = [bytes([n]) * (STORED_CHUNK_BYTES + n) for n in range(1, 6)]
    await asyncio.gather(*[store.put(key, pdf) for pdf in versions])
    stored = await read_whole(store, key)
    assert stored in versions
    assert await store.size(key) == len(stored or b"")
    assert await chunk_rows(db, key) == 2
    await store.put(key, b"later")  # deduplicated: the stored one stays
    assert await read_whole(store, key) == stored


async def test_a_store_whose_database_is_down_is_unavailable_and_a_preview_a_503() -> None:
    down = make_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    store = PostgresStore(down)
    try:
        with pytest.raises(ArtifactStoreUnavailable):
            await store.has(new_key())
        with pytest.raises(ArtifactStoreUnavailable):
            await store.put(new_key(), b"%PDF")

        class Succeeded:
            status, result = "succeeded", {"artifact_key": new_key()}

        with pytest.raises(ApiError) as raised:
            await Previewer(store).of_job(Succeeded())
        assert (raised.value.status, raised.value.code) == (503, "preview_unavailable")
    finally:
        await down.dispose()


async def test_a_preview_is_made_from_the_stored_pdf_and_kept(db: AsyncEngine) -> None:
    store, key = PostgresStore(db), new_key()
    await store.put(key, minimal_pdf())

    class Succeeded:
        status, result = "succeeded", {"artifact_key": key}

    preview = await Previewer(store).of_job(Succeeded())
    assert preview.png is not None and await store.preview(key) == preview.png


async def test_a_pdf_compiled_behind_one_instance_is_served_by_another(
        compile_env: dict[str, Any], resume_api: Any, as_user: Headers, user_id: str) -> None:
    env = {**compile_env, "artifact_store": "postgres"}
    compiling = CompileSettings.model_validate(env)
    serving = CompileSettings.model_validate({**env, "job_worker_in_app": False})
    headers = as_user(user_id)
    resume_id, version = await create_resume(
        resume_api, headers, resume_document(title=f"Shared {secrets.token_hex(4)}"))
    async with compile_client(compiling) as worker_side, compile_client(serving) as other:
        job = await compile_and_wait(worker_side, headers, resume_id, version=version)
        assert job["status"] == "succeeded", job
        here = await worker_side.get(job["pdf_url"], headers=headers)
        there = await other.get(job["pdf_url"], headers=headers)
    assert there.status_code == 200, there.text
    assert there.content == here.content and there.content.startswith(b"%PDF")
    assert there.headers["content-length"] == str(len(there.content))


async def test_a_deleted_artifact_is_gone_with_its_figures_and_preview(
        db: AsyncEngine) -> None:
    store, key = PostgresStore(db), new_key()
    await store.put_figures(key, {"pages": 1})
    await store.put(key, b"%PDF-1.7 erased person")
    await store.put_preview(key, b"\x89PNG")
    await store.delete(key)
    assert await store.size(key) is None and await chunk_rows(db, key) == 0
    assert await store.figures(key) is None and await store.preview(key) is None
    await store.delete(key)  # nothing stored: nothing to do
