"""Issue #19, the export half, on the real stack through the gateway: a user's export holds
every version of every resume, every PDF with its figures, the rating, the import, the share
links with their statistics, the trash, and nothing of another user; another user's export
is a 404, no session a 401, and every status is in the OpenAPI document."""

import asyncio
import hashlib
import io
import time
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import orjson

from contracts.resume import ResumeDocument
from runtime.db import asyncpg_dsn
from tests.e2e.conftest import Stack, poll, rate_version
from tests.integration.ai.resume_files import docx_of
from tests.integration.compile.conftest import resume_document
from tests.integration.gateway.conftest import authorize, start_sign_in

VERSIONS = 3


@dataclass
class Person:
    marker: str
    subject: str
    resume_id: str
    trashed_id: str
    imported_id: str
    share_id: str


async def sign_in_as(stack: Stack, client: httpx.AsyncClient, marker: str) -> str:
    subject = f"export-{marker}"
    stack.issuer.sign_in_as(subject, email=f"{subject}@example.com", name=f"Person {marker}")
    response = await client.get(await authorize(client, await start_sign_in(client)))
    assert response.status_code == 303, response.text
    return subject


async def until(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := await check()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)
    return found


async def compiled(client: httpx.AsyncClient, resume_id: str, version: int) -> dict[str, Any]:
    response = await client.post(f"/api/compile/{resume_id}",
                                 json={"version": version, "template": "standard"})
    assert response.status_code == 202, response.text
    job = await poll(client, response.json()["status_url"],
                     lambda job: job["status"] in ("succeeded", "failed"))
    assert job["status"] == "succeeded", job
    return job


async def imported(client: httpx.AsyncClient, marker: str) -> str:
    document = ResumeDocument.model_validate(resume_document(
        name=f"Imported {marker}", title=f"Imported {marker}", bullets=[f"Import {marker}"]))
    response = await client.post("/api/ai/import", files={"file": ("cv.docx",
                                                                   docx_of(document))})
    assert response.status_code == 202, response.text
    job = await poll(client, response.headers["location"],
                     lambda job: job["status"] in ("succeeded", "failed"))
    assert job["status"] == "succeeded", job
    resume_id: str = job["resume_id"]
    await until(lambda: _readable(client, resume_id))
    return resume_id


async def _readable(client: httpx.AsyncClient, resume_id: str) -> bool:
    return (await client.get(f"/api/resume/{resume_id}")).status_code == 200


async def populate(stack: Stack, client: httpx.AsyncClient, marker: str) -> Person:
    """Sign in and make one of everything: a resume of VERSIONS versions compiled twice and
    rated, a share link viewed once, a resume in the trash, an imported resume."""
    subject = await sign_in_as(stack, client, marker)
    document = resume_document(name=f"Person {marker}", title=f"Resume {marker}",
                               template="standard", bullets=[f"{marker} v1"])
    created = await client.post("/api/resume/create", json=document)
    assert created.status_code == 201, created.text
    resume_id = created.json()["id"]
    for version in range(2, VERSIONS + 1):
        body = {**document, "version": version - 1, "sections": [
            {**document["sections"][0], "items": [{**document["sections"][0]["items"][0],
                                                   "bullets": [f"{marker} v{version}"]}]}]}
        updated = await client.put(f"/api/resume/update/{resume_id}", json=body)
        assert updated.status_code == 200, updated.text
    jobs = [await compiled(client, resume_id, 1), await compiled(client, resume_id, VERSIONS)]
    rating = await rate_version(client, resume_id, VERSIONS)
    assert rating["status"] == "succeeded", rating

    share = await client.post(f"/api/resume/{resume_id}/shares", json={})
    assert share.status_code == 201, share.text
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10,
                                 headers={"User-Agent": "Mozilla/5.0 (X11)"}) as stranger:
        assert (await stranger.get(f"/api/public/{share.json()['slug']}")).status_code == 200
    await until(lambda: _viewed(client, resume_id))

    trashed = await client.post("/api/resume/create",
                                json=resume_document(title=f"Trashed {marker}"))
    assert trashed.status_code == 201, trashed.text
    deleted = await client.delete(f"/api/resume/delete/{trashed.json()['id']}")
    assert deleted.status_code == 204, deleted.text
    assert len({job["job_id"] for job in jobs}) == 2
    return Person(marker, subject, resume_id, trashed.json()["id"],
                  await imported(client, marker), share.json()["id"])


async def _viewed(client: httpx.AsyncClient, resume_id: str) -> bool:
    listed = (await client.get(f"/api/resume/{resume_id}/shares")).json()
    return bool(listed and listed[0]["stats"]["views"] >= 1)


async def exported(client: httpx.AsyncClient) -> tuple[dict[str, Any], bytes]:
    started = await client.get("/api/user/me/export")
    assert started.status_code == 202, started.text
    assert started.headers["location"] == started.json()["status_url"]
    assert started.json()["status_url"] == f"/api/user/me/exports/{started.json()['job_id']}"
    job = await poll(client, started.json()["status_url"],
                     lambda job: job["status"] in ("succeeded", "failed"))
    assert job["status"] == "succeeded", job["error"]
    archive = await client.get(job["archive_url"])
    assert archive.status_code == 200, archive.text
    assert archive.headers["content-type"] == "application/zip"
    assert archive.headers["content-disposition"].startswith("attachment;")
    assert len(archive.content) == job["size_bytes"]
    assert hashlib.sha256(archive.content).hexdigest() == job["sha256"]
    return job, archive.content


def files_of(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def check_holds_everything(files: dict[str, bytes], person: Person) -> None:
    readme = files["README.md"].decode()
    assert all(f"`{name}`" in readme for name in files if name != "README.md")
    user = orjson.loads(files["account/user.json"])
    assert user["email"] == f"{person.subject}@example.com"
    history = orjson.loads(files[f"resumes/{person.resume_id}/history.json"])
    assert [event["stream_version"] for event in history] == list(range(1, VERSIONS + 1))
    for event in history:
        bullets = event["payload"]["document"]["sections"][0]["items"][0]["bullets"]
        assert bullets == [f"{person.marker} v{event['stream_version']}"]
    trash = orjson.loads(files["resumes/trash.json"])
    assert [entry["resume_id"] for entry in trash] == [person.trashed_id]
    assert orjson.loads(files[f"resumes/{person.trashed_id}/resume.json"])["deleted_at"]
    imports = orjson.loads(files["resumes/imported.json"])
    assert [entry["resume_id"] for entry in imports] == [person.imported_id]
    assert imports[0]["imported_from"]["file_name"] == "cv.docx"
    ai_imports = orjson.loads(files["ai/imports.json"])
    assert len(ai_imports) == 1 and f"Import {person.marker}" in ai_imports[0]["input"]["text"]
    ratings = orjson.loads(files["ai/ratings.json"])
    assert len(ratings) == 1 and ratings[0]["result"]["rating"]["overall_score"] > 0
    check_shares_and_pdfs(files, person)


def check_shares_and_pdfs(files: dict[str, bytes], person: Person) -> None:
    [share] = orjson.loads(files["shares/shares.json"])
    assert share["id"] == person.share_id and "password_hash" not in share
    assert share["stats"]["views"] >= 1
    assert share["stats"]["by_day"] and share["stats"]["by_version"][0]["version"] == VERSIONS
    events = orjson.loads(files[f"shares/{person.share_id}/events.json"])
    assert [e["event_type"] for e in events][:2] == ["ShareCreated", "ShareViewed"]
    assert "viewer" not in events[1]["payload"]
    jobs = orjson.loads(files["compile/jobs.json"])
    assert len(jobs) == 2 and {job["status"] for job in jobs} == {"succeeded"}
    keys = {job["result"]["artifact_key"] for job in jobs}
    pdfs = {name for name in files if name.startswith("compile/pdfs/")}
    assert pdfs == {f"compile/pdfs/{key}.pdf" for key in keys} and len(keys) == 2
    assert all(files[name].startswith(b"%PDF-") for name in pdfs)
    assert all(orjson.loads(files[f"compile/ats/{key}.json"])["pages"] >= 1 for key in keys)


async def test_an_export_holds_everything_of_its_user_and_nothing_of_another(
        stack: Stack) -> None:
    ada_marker, bob_marker = (f"{name}{uuid.uuid4().hex[:12]}" for name in ("Ada", "Bob"))
    async with stack.client() as ada, stack.client() as bob:
        ada_person = await populate(stack, ada, ada_marker)
        bob_person = await populate(stack, bob, bob_marker)
        job, archive = await exported(ada)
        files = files_of(archive)
        check_holds_everything(files, ada_person)
        assert job["files"] == len(files)
        bobs = [bob_marker, bob_person.subject, bob_person.resume_id, bob_person.share_id,
                bob_person.imported_id, bob_person.trashed_id]
        for name, data in files.items():
            assert not [s for s in bobs if s.encode() in data], name

        again = await ada.get("/api/user/me/export")  # within EXPORT_REUSE_SECONDS
        assert again.status_code == 200 and again.json()["job_id"] == job["job_id"]
        for path in (job["status_url"], job["archive_url"]):
            response = await bob.get(path)
            assert response.status_code == 404, (path, response.text)
            assert response.json()["error"]["code"] == "export_not_found"

        await expire(stack, job["job_id"])
        gone = await ada.get(job["archive_url"])
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "export_expired"
        fresh = await ada.get("/api/user/me/export")
        assert fresh.status_code == 202 and fresh.json()["job_id"] != job["job_id"]
        await poll(ada, fresh.json()["status_url"], lambda j: j["status"] == "succeeded")


async def expire(stack: Stack, job_id: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(stack.database_url))
    try:
        await conn.execute("UPDATE auth.account_exports SET expires_at = now() "
                           "WHERE job_id = $1", job_id)
    finally:
        await conn.close()


async def test_the_export_routes_need_a_session_and_are_documented(stack: Stack) -> None:
    job_path = f"/api/user/me/exports/{uuid.uuid4()}"
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as anonymous:
        for path in ("/api/user/me/export", job_path, f"{job_path}/archive"):
            response = await anonymous.get(path)
            assert response.status_code == 401, (path, response.text)
        paths = (await anonymous.get("/api/openapi.json")).json()["paths"]
    expected = {  # the gateway adds its own (400, 408, 429, ...)
        "/api/user/me/export": {"200", "202", "401", "409", "503"},
        "/api/user/me/exports/{job_id}": {"200", "401", "404", "422", "503"},
        "/api/user/me/exports/{job_id}/archive": {"200", "401", "404", "409", "410", "422",
                                                  "503"}}
    for path, statuses in expected.items():
        assert statuses <= set(paths[path]["get"]["responses"]), path
    archive = paths["/api/user/me/exports/{job_id}/archive"]["get"]["responses"]["200"]
    assert "application/zip" in archive["content"]
