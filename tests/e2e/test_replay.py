"""Replays on the stack the e2e flow left behind (this module runs after test_stack; run
alone, it drives a short flow first): rebuilding every projection of every service from the
event stores gives the same read models, and `rb replay` to one consumer changes nothing
and reaches no other queue. The operator CLI runs as an operator runs it (Typer's CliRunner,
settings from the environment: the stack's database and vhost)."""

import asyncio
import time
from collections.abc import AsyncIterator

import aio_pika
import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner, Result

from contracts.erasure_events import TOMBSTONE_EVENT_TYPE
from contracts.resume_events import RESUME_EVENTS
from ops.cli import app as rb_app
from ops.cli.projections import load_projections
from runtime.bus import EVENTS
from runtime.db import asyncpg_dsn
from tests.e2e.conftest import (
    AI_RESUMES_CONSUMER,
    COMPILE_RESUMES_CONSUMER,
    EXPECTED_CONSUMERS,
    Stack,
    compile_version,
    rate_version,
    sign_in,
)
from tests.integration.compile.conftest import resume_document

# service -> its projections (runtime.projection) -> the table each one fills. A projection
# missing here fails the first test: add its table, so rebuilds of it are checked too.
PROJECTION_TABLES = {
    # auth.jobs holds the exports test_account_export made (it runs before test_stack's flow)
    "auth_service": {"users": "auth.users", "auth.jobs": "auth.jobs"},
    "resume_service": {"resumes": "resume.resumes", "share_views": "resume.share_views"},
    "compile_service": {"compile.jobs": "compile.jobs",
                        "compile.resume_versions": "compile.resume_versions"},
    "ai_service": {"ai.jobs": "ai.jobs", "ai.resume_versions": "ai.resume_versions"},
}
READ_MODELS = [table for tables in PROJECTION_TABLES.values() for table in tables.values()]
# what the idempotent consumers (the replicas) recorded as processed
PROCESSED = ["compile.processed_events", "ai.processed_events"]
HANDLED = "rb_consumer_handle_duration_seconds"

# The stack has settled when every event left its outbox, both replicas hold every resume
# event and no job is still running: each query must answer true. (resume_service.sessions
# only bumps a Redis cache generation and leaves nothing in the database to wait for.)
# the resume events a replica keeps (resume_service's store holds its shares' events too)
RESUME_EVENT_ROWS = ("(SELECT count(*) FROM resume.events WHERE event_type IN ("
                     + ", ".join(f"'{name}'" for name in RESUME_EVENTS) + "))")
SETTLED = {
    "outboxes empty": "SELECT (SELECT count(*) FROM auth.outbox) + (SELECT count(*) FROM "
                      "resume.outbox) + (SELECT count(*) FROM compile.outbox) + "
                      "(SELECT count(*) FROM ai.outbox) = 0",
    "compile replica complete": "SELECT (SELECT count(*) FROM compile.resume_versions) = "
                                + RESUME_EVENT_ROWS,
    "ai replica complete": "SELECT (SELECT count(*) FROM ai.resume_versions) = "
                           + RESUME_EVENT_ROWS,
    "no compile job active": "SELECT NOT EXISTS (SELECT 1 FROM compile.jobs "
                             "WHERE status IN ('queued', 'running'))",
    "no rating job active": "SELECT NOT EXISTS (SELECT 1 FROM ai.jobs "
                            "WHERE status IN ('queued', 'running'))",
    "no export active": "SELECT NOT EXISTS (SELECT 1 FROM auth.jobs "
                        "WHERE status IN ('queued', 'running'))",
}


async def rb(stack: Stack, *args: str) -> Result:
    """`rb ARGS` against the stack, in a worker thread (the CLI runs its own event loop)."""
    env = {"DATABASE_URL": stack.database_url, "AMQP_URL": stack.amqp_url, "COLUMNS": "200"}
    result = await asyncio.to_thread(CliRunner().invoke, rb_app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


async def snapshot(db: asyncpg.Connection, tables: list[str]) -> dict[str, list[str]]:
    """Every row of each table as JSON text, sorted: equal snapshots, equal tables."""
    return {table: [r[0] for r in await db.fetch(
        f"SELECT to_jsonb(t)::text FROM {table} t ORDER BY 1")] for table in tables}


async def wait_settled(db: asyncpg.Connection, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while unsettled := [what for what, query in SETTLED.items() if not await db.fetchval(query)]:
        assert time.monotonic() < deadline, f"the stack never settled: {unsettled}"
        await asyncio.sleep(0.2)


async def handled(stack: Stack, port_variable: str, consumer: str) -> dict[str, float]:
    """Deliveries the consumer in that HTTP process finished, by outcome (its /metrics, on its
    ops listener)."""
    async with stack.client() as client:
        response = await client.get(f"{stack.url_of(port_variable)}/metrics")
    assert response.status_code == 200, response.text
    outcomes: dict[str, float] = {"handled": 0.0, "failed": 0.0}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == f"{HANDLED}_count" and sample.labels["consumer"] == consumer:
                outcomes[sample.labels["outcome"]] += sample.value
    return outcomes


async def queue_depths(amqp: aio_pika.abc.AbstractConnection) -> dict[str, int]:
    depths = {}
    for name in EXPECTED_CONSUMERS:
        channel = await amqp.channel()
        declared = await channel.declare_queue(name, passive=True)
        depths[name] = declared.declaration_result.message_count or 0
        await channel.close()
    return depths


async def wait_drained(amqp: aio_pika.abc.AbstractConnection, queue: str,
                       timeout: float = 20.0) -> None:
    """No message ready on `queue` (the ai app and the ai worker both consume it, so one
    process's count of handled deliveries does not tell)."""
    deadline = time.monotonic() + timeout
    while (depth := (await queue_depths(amqp))[queue]) > 0:
        assert time.monotonic() < deadline, f"{queue} still holds {depth} messages"
        await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def db(stack: Stack) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(asyncpg_dsn(stack.database_url))
    yield connection
    await connection.close()


@pytest.fixture(scope="module")
async def amqp(stack: Stack) -> AsyncIterator[aio_pika.abc.AbstractConnection]:
    async with await aio_pika.connect(stack.amqp_url) as connection:
        yield connection


@pytest.fixture(scope="module")
async def history(stack: Stack, db: asyncpg.Connection) -> None:
    """A stack whose every read model has rows and that has settled. After test_stack it
    has; alone, this module first signs in, writes, compiles, rates and signs out."""
    if not await db.fetchval("SELECT count(*) FROM ai.jobs WHERE status = 'succeeded'"):
        async with stack.client() as browser:
            await sign_in(stack, browser)
            created = await browser.post("/api/resume/create",
                                         json=resume_document(title="Replayed"))
            assert created.status_code == 201, created.text
            resume_id = created.json()["id"]
            updated = await browser.put(f"/api/resume/update/{resume_id}",
                                        json={**resume_document(title="Replayed 2"),
                                              "version": 1})
            assert updated.status_code == 200, updated.text
            assert (await compile_version(browser, resume_id, 2))["status"] == "succeeded"
            assert (await rate_version(browser, resume_id, 2))["status"] == "succeeded"
            assert (await browser.post("/api/auth/logout")).status_code == 204
    if not await db.fetchval("SELECT count(*) FROM resume.share_views"):
        await _share_viewed(stack, db)
    await wait_settled(db)


async def _share_viewed(stack: Stack, db: asyncpg.Connection) -> None:
    """A share of a resume, viewed once by someone without a session (the view is recorded
    a moment after the answer)."""
    async with stack.client() as owner, stack.client() as stranger:
        await sign_in(stack, owner)
        created = await owner.post("/api/resume/create", json=resume_document(title="Shared"))
        assert created.status_code == 201, created.text
        share = await owner.post(f"/api/resume/{created.json()['id']}/shares", json={})
        assert share.status_code == 201, share.text
        viewed = await stranger.get(share.json()["url"])
        assert viewed.status_code == 200, viewed.text
    deadline = time.monotonic() + 10
    while not await db.fetchval("SELECT count(*) FROM resume.share_views"):
        assert time.monotonic() < deadline, "the view was never recorded"
        await asyncio.sleep(0.1)


async def test_rebuilding_every_projection_gives_the_same_read_models(
        stack: Stack, db: asyncpg.Connection, history: None) -> None:
    for service, tables in PROJECTION_TABLES.items():
        names = {p.name for p in load_projections(service)[1]}
        assert names == set(tables), f"{service}'s projections changed: {names}"
    before = await snapshot(db, READ_MODELS)
    assert all(before.values()), {t: len(rows) for t, rows in before.items()}

    # emptied first, so whatever is there afterwards came from the event stores
    await db.execute("; ".join(f"DELETE FROM {table}" for table in READ_MODELS))
    for service, tables in PROJECTION_TABLES.items():
        result = await rb(stack, "projections", "rebuild", service)
        assert result.stdout.count("rebuilt") == len(tables), result.stdout

    # no column is excluded: every one is derived from the events (timestamps come from
    # the envelopes' occurred_at, never from the clock at rebuild time)
    assert await snapshot(db, READ_MODELS) == before


async def test_replay_to_one_consumer_changes_nothing_and_reaches_no_other(
        stack: Stack, db: asyncpg.Connection, amqp: aio_pika.abc.AbstractConnection,
        history: None) -> None:
    channel = await amqp.channel()
    events = await channel.declare_exchange(EVENTS.name, aio_pika.ExchangeType.TOPIC,
                                            durable=True)
    observer = await channel.declare_queue(exclusive=True, auto_delete=True)
    await observer.bind(events, routing_key="resume.#")
    resume_events = await db.fetchval(  # an erased user's tombstones are not sent
        "SELECT count(*) FROM resume.events WHERE event_type <> $1", TOMBSTONE_EVENT_TYPE)
    rows_before = await snapshot(db, READ_MODELS + PROCESSED)
    depths_before = await queue_depths(amqp)
    compile_before = await handled(stack, "COMPILE_OPS_PORT", COMPILE_RESUMES_CONSUMER)
    ai_before = await handled(stack, "AI_OPS_PORT", AI_RESUMES_CONSUMER)

    result = await rb(stack, "replay", "--to", COMPILE_RESUMES_CONSUMER,
                      "--from-position", "1", "--source", "resume")
    assert f"sent {resume_events:,} events" in result.stdout, result.stdout

    expected = compile_before["handled"] + resume_events
    deadline = time.monotonic() + 20
    while (now := await handled(stack, "COMPILE_OPS_PORT", COMPILE_RESUMES_CONSUMER)
           )["handled"] < expected:
        assert time.monotonic() < deadline, f"compile handled {now}, expected {expected}"
        await asyncio.sleep(0.2)
    assert now == {"handled": expected, "failed": compile_before["failed"]}
    # every replayed event was a duplicate: no replica row and no processed record changed
    assert await snapshot(db, READ_MODELS + PROCESSED) == rows_before
    # nothing went through the events exchange, so no other consumer received anything
    assert await observer.get(no_ack=True, fail=False, timeout=5) is None
    assert await handled(stack, "AI_OPS_PORT", AI_RESUMES_CONSUMER) == ai_before
    assert await queue_depths(amqp) == depths_before
    await channel.close()


async def test_replay_to_the_ai_replica_leaves_the_compile_consumer_alone(
        stack: Stack, db: asyncpg.Connection, amqp: aio_pika.abc.AbstractConnection,
        history: None) -> None:
    rows_before = await snapshot(db, READ_MODELS + PROCESSED)
    compile_before = await handled(stack, "COMPILE_OPS_PORT", COMPILE_RESUMES_CONSUMER)

    await rb(stack, "replay", "--to", AI_RESUMES_CONSUMER, "--from-position", "1",
             "--source", "resume")
    await wait_drained(amqp, AI_RESUMES_CONSUMER)

    assert await snapshot(db, READ_MODELS + PROCESSED) == rows_before
    assert await handled(stack, "COMPILE_OPS_PORT", COMPILE_RESUMES_CONSUMER) == compile_before
