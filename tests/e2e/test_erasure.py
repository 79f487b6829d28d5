"""An account erasure on the real stack (docs/architecture.md, Privacy): a user with resumes,
versions, compiles, a rating, an import, a share with views, a dead letter and queued
messages is erased, and afterwards nothing of their name, email, phone or a marker from a
bullet is left in any PostgreSQL schema, Redis, the artifact store or a queue; another
user's data is untouched, a rebuild of every projection gives the read models as before
the erasure less the erased user's rows, the erased user's sessions are over and signing
in again with the same Google account opens a new, empty account."""

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import httpx
import orjson
import pytest
from redis.asyncio import Redis

from contracts.envelope import EventEnvelope
from contracts.erasure_events import TOMBSTONE_EVENT_TYPE
from contracts.resume import ResumeDocument
from contracts.resume_events import ResumeUpdated
from contracts.topology import (
    AI_RESUMES_CONSUMER,
    COMPILE_RESUMES_CONSUMER,
    ERASING_SERVICES,
    dead_letter_queue,
)
from runtime.db import asyncpg_dsn
from runtime.erasure import drain_dead_letters
from runtime.sessions import session_key
from tests.conftest import REDIS_URL
from tests.e2e.conftest import Stack, compile_version, poll, rate_version
from tests.e2e.stores import (
    artifact_blobs,
    found_in,
    postgres_blobs,
    queue_blobs,
    redis_blobs,
    stored_pdf_blobs,
)
from tests.e2e.test_replay import PROJECTION_TABLES, READ_MODELS, rb, snapshot, wait_settled
from tests.integration.ai.resume_files import docx_of
from tests.integration.compile.conftest import resume_document
from tests.integration.gateway.conftest import authorize, start_sign_in

STACK_REDIS_DB = 2  # tests/e2e/conftest.py: stack_env


class Person:
    """Someone whose every trace must go: unique name, email, phone and bullet marker."""

    def __init__(self, tag: str) -> None:
        token = uuid.uuid4().hex[:10]
        self.subject = f"erasure-{tag}-{token}"
        self.name = f"Quintessa {tag.capitalize()} Vandermeer{token[:4]}"
        self.email = f"{self.subject}@example.com"
        self.phone = f"+44 20 7946 {int(token[:6], 16) % 10000:04d}"
        self.marker = f"zx-marker-{token}"

    @property
    def needles(self) -> list[str]:
        return [self.name, self.email, self.phone, self.marker]

    def document(self, title: str, bullet: str = "") -> dict[str, Any]:
        document = resume_document(name=self.name, title=title, template="standard",
                                   bullets=[f"Built {self.marker} {bullet}".strip()])
        document["contact"].update(email=self.email, phone=self.phone)
        return document


async def sign_in_as(stack: Stack, client: httpx.AsyncClient, person: Person) -> str:
    """A browser's OIDC sign-in as `person`; the account's user id."""
    stack.issuer.sign_in_as(person.subject, email=person.email, name=person.name)
    callback = await authorize(client, await start_sign_in(client))
    assert (await client.get(callback)).status_code == 303
    me = await client.get("/api/user/me")
    assert me.status_code == 200, me.text
    return str(me.json()["id"])


async def build_history(stack: Stack, client: httpx.AsyncClient, person: Person,
                        stranger: httpx.AsyncClient) -> dict[str, Any]:
    """Resumes with versions, a compile, a rating, an import, a share viewed by a stranger,
    a read through the read cache. The ids it made."""
    created = await client.post("/api/resume/create", json=person.document("First"))
    assert created.status_code == 201, created.text
    resume_id = created.json()["id"]
    for version in (1, 2):
        updated = await client.put(f"/api/resume/update/{resume_id}", json={
            **person.document("First", f"v{version + 1}"), "version": version})
        assert updated.status_code == 200, updated.text
    trashed = await client.post("/api/resume/create", json=person.document("Trashed"))
    assert (await client.delete(f"/api/resume/delete/{trashed.json()['id']}")).status_code == 204
    assert (await client.get(f"/api/resume/{resume_id}")).status_code == 200  # cached now
    assert (await compile_version(client, resume_id, 3))["status"] == "succeeded"
    assert (await rate_version(client, resume_id, 3))["status"] == "succeeded"
    imported = await client.post("/api/ai/import", files={"file": (
        f"{person.subject}.docx", docx_of(ResumeDocument.model_validate(
            {k: v for k, v in person.document("Imported").items()
             if k in ResumeDocument.model_fields})))})
    assert imported.status_code == 202, imported.text
    finished = await poll(client, imported.headers["location"],
                          lambda job: job["status"] in ("succeeded", "failed"))
    assert finished["status"] == "succeeded", finished
    share = await client.post(f"/api/resume/{resume_id}/shares", json={})
    assert share.status_code == 201, share.text
    assert (await stranger.get(share.json()["url"])).status_code == 200
    return {"resume_id": resume_id, "share_id": share.json()["id"]}


def envelope_of(person_id: str, resume_id: str, document: dict[str, Any],
                version: int) -> bytes:
    event = EventEnvelope(
        event_id=uuid.uuid4(), event_type=ResumeUpdated.event_type, stream_id=resume_id,
        stream_version=version, occurred_at=datetime.now(UTC), user_id=person_id,
        payload={"resume_id": resume_id, "owner_id": person_id, "document": document})
    return orjson.dumps(event.model_dump(mode="json"))


async def to_queue(amqp_url: str, queue: str, body: bytes) -> None:
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(body, content_type="application/json",
                             headers={"x-error": "planted by the erasure test"}),
            routing_key=queue)


async def wait_for(db: asyncpg.Connection, query: str, *args: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await db.fetchval(query, *args):
        assert time.monotonic() < deadline, f"never true: {query} {args}"
        await asyncio.sleep(0.2)


async def owned_rows(db: asyncpg.Connection, user_id: str) -> dict[str, list[str]]:
    """What a user has in every store's tables and logs, for a before/after comparison."""
    queries = {
        "users": "SELECT to_jsonb(t)::text FROM auth.users t WHERE id = $1",
        "resumes": "SELECT to_jsonb(t)::text FROM resume.resumes t WHERE owner_id = $1",
        "shares": "SELECT to_jsonb(t)::text FROM resume.shares t WHERE owner_id = $1",
        "share_views": "SELECT to_jsonb(v)::text FROM resume.share_views v JOIN resume.shares "
                       "s ON s.id = v.share_id WHERE s.owner_id = $1",
        **{f"{schema}.jobs": f"SELECT to_jsonb(t)::text FROM {schema}.jobs t "
                             "WHERE owner_id = $1" for schema in ("compile", "ai")},
        **{f"{schema}.replica": f"SELECT to_jsonb(t)::text FROM {schema}.resume_versions t "
                                "WHERE owner_id = $1" for schema in ("compile", "ai")},
        **{f"{schema}.events": f"SELECT to_jsonb(t)::text FROM {schema}.events t "
                               "WHERE metadata->>'user_id' = $1"
                               for schema in ("auth", "resume", "compile", "ai")},
    }
    return {name: sorted(r[0] for r in await db.fetch(q, user_id))
            for name, q in queries.items()}


def without(rows: dict[str, list[str]], ids: list[str]) -> dict[str, list[str]]:
    return {table: [r for r in found if not any(i in r for i in ids)]
            for table, found in rows.items()}


@pytest.fixture(scope="module")
async def db(stack: Stack) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(asyncpg_dsn(stack.database_url))
    yield connection
    await connection.close()


@pytest.fixture(scope="module")
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL.rsplit("/", 1)[0] + f"/{STACK_REDIS_DB}")
    yield client
    await client.aclose()


async def everywhere(stack: Stack, db: asyncpg.Connection, redis: Redis,
                     needles: list[str]) -> list[tuple[str, str]]:
    blobs = [*await postgres_blobs(db), *await redis_blobs(redis),
             *artifact_blobs(stack.log.parent / "artifacts"), *await stored_pdf_blobs(db),
             *await queue_blobs(stack.amqp_url)]
    return found_in(blobs, needles)


async def test_an_erased_account_leaves_nothing_anywhere_and_others_keep_everything(
        stack: Stack, db: asyncpg.Connection, redis: Redis) -> None:
    victim, other = Person("victim"), Person("other")
    async with (stack.client() as browser, stack.client() as second_tab,
                stack.client() as others_browser, stack.client() as stranger):
        victim_id = await sign_in_as(stack, browser, victim)
        other_id = await sign_in_as(stack, others_browser, other)
        made = await build_history(stack, browser, victim, stranger)
        await build_history(stack, others_browser, other, stranger)
        assert await sign_in_as(stack, second_tab, victim) == victim_id
        for user_id in (victim_id, other_id):  # 3: the two made and the imported one
            await wait_for(db, "SELECT count(*) = 3 FROM resume.resumes WHERE owner_id = $1",
                           user_id)
        await wait_for(db, "SELECT count(*) FROM resume.share_views WHERE share_id = $1",
                       made["share_id"])
        await wait_settled(db)
        victim_keys = [r[0] for r in await db.fetch(
            "SELECT result->>'artifact_key' FROM compile.jobs WHERE owner_id = $1 "
            "AND result->>'artifact_key' IS NOT NULL", victim_id)]
        assert victim_keys

        # a dead letter of each user, and (below) a queued message of the victim's
        await to_queue(stack.amqp_url, dead_letter_queue(COMPILE_RESUMES_CONSUMER), envelope_of(
            victim_id, made["resume_id"], victim.document("Dead letter"), 99))
        await to_queue(stack.amqp_url, dead_letter_queue(COMPILE_RESUMES_CONSUMER), envelope_of(
            other_id, str(uuid.uuid4()), other.document("Dead letter"), 1))
        # the search finds what is there: each store holds the victim's data before
        before_hits = await everywhere(stack, db, redis, victim.needles)
        for store in ("resume", "redis", "artifacts", "queue"):
            assert any(store in where for _, where in before_hits), (store, before_hits)
        read_models_before = await snapshot(db, READ_MODELS)
        others_before = await owned_rows(db, other_id)

        refused = await browser.request("DELETE", "/api/user/me", json={"confirm": "yes"})
        assert refused.status_code == 422, refused.text
        await redis.hset(session_key(second_tab.cookies["rb_session"]),  # signed in 1 h ago
                         "created_at", time.time() - 3600)
        stale = await second_tab.request("DELETE", "/api/user/me",
                                         json={"confirm": victim.email})
        assert stale.status_code == 401, stale.text
        assert stale.json()["error"]["code"] == "reauthentication_required"

        await to_queue(stack.amqp_url, AI_RESUMES_CONSUMER, envelope_of(
            victim_id, made["resume_id"], victim.document("Queued"), 98))
        erased = await browser.request("DELETE", "/api/user/me",
                                       json={"confirm": victim.email.upper()})
        assert erased.status_code == 202, erased.text
        # every session of the account ends at once
        assert (await browser.get("/api/user/me")).status_code == 401
        assert (await second_tab.get("/api/user/me")).status_code == 401
        assert (await others_browser.get("/api/user/me")).status_code == 200

        progress = await poll_progress(stranger, erased.json()["status_url"])
        assert {s["service"] for s in progress["services"]} == set(ERASING_SERVICES)
        assert progress["status"] == "erased", progress
        shown = await rb(stack, "erasure", victim_id)
        assert all(service in shown.stdout for service in ERASING_SERVICES), shown.stdout
        assert "pending" not in shown.stdout and "erased" in shown.stdout

        # a message of the victim's arriving after the erasure is dropped
        await to_queue(stack.amqp_url, COMPILE_RESUMES_CONSUMER, envelope_of(
            victim_id, made["resume_id"], victim.document("Late"), 97))
        await wait_settled(db)

        assert await everywhere(stack, db, redis, victim.needles) == []
        assert not [p for p in (stack.log.parent / "artifacts").rglob("*")
                    if any(key in p.name for key in victim_keys)]
        assert not await db.fetchval("SELECT count(*) FROM compile.artifacts "
                                     "WHERE key = ANY($1::text[])", victim_keys)
        assert await owned_rows(db, other_id) == others_before
        others_dead_letter = await queue_blobs(stack.amqp_url)
        assert found_in(others_dead_letter, [other.marker]), "another user's dead letter went"
        assert await drain_dead_letters(stack.amqp_url, [COMPILE_RESUMES_CONSUMER], other_id)

        # the erased streams read as erased; a rebuild gives what was there, less the victim
        state = await rb(stack, "state", made["resume_id"])
        assert '"erased": true' in state.stdout, state.stdout
        assert await db.fetchval("SELECT count(*) FROM resume.events WHERE stream_id = $1 "
                                 "AND event_type <> $2", made["resume_id"],
                                 TOMBSTONE_EVENT_TYPE) == 0
        victim_ids = [victim_id, made["share_id"]]
        after = await snapshot(db, READ_MODELS)
        assert after == without(read_models_before, victim_ids)
        await db.execute("; ".join(f"DELETE FROM {table}" for table in READ_MODELS))
        for service in PROJECTION_TABLES:
            await rb(stack, "projections", "rebuild", service)
        assert await snapshot(db, READ_MODELS) == after

        # the same Google account signs in to a new, empty account
        again = await sign_in_as(stack, browser, victim)
        assert again != victim_id
        listed = await browser.get("/api/resume/all")
        assert listed.status_code == 200 and listed.json() == [], listed.text


async def poll_progress(client: httpx.AsyncClient, status_url: str,
                        timeout: float = 30) -> dict[str, Any]:
    """The erasure's progress (a public route: the account has no session any more) once
    every service is done, or when the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(status_url)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] == "erased" or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.2)


def test_session_keys_are_hashes_of_the_cookie() -> None:
    """The test above ages a session by its Redis key: the key is the cookie's SHA-256."""
    assert session_key("abc") == "sess:" + hashlib.sha256(b"abc").hexdigest()
