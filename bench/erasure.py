"""What account erasure costs (docs/architecture.md, Privacy), with the local services up:
``.venv/bin/python bench/erasure.py [REV]``.

1. The write path: erasure changes it only by the consumers' check that an event's user is
   not erased (the replicas' batch INSERT filters on `erased_users` in SQL; every other
   consumer asks the table, or live_service a Redis set). bench/write_path.py runs this tree
   and REV (default: the commit before erasure, the parent of the one that added
   runtime/erasure.py) in alternating rounds of the same run and prints this tree's figures
   over REV's: the issue asks for them within 10%.
2. An erasure itself: on this tree's Procfile stack, a user with `BENCH_ERASURE_RESUMES`
   resumes (default 100) of three versions each, beside another user with as many, is
   erased; it prints the time to the 202 (auth's own part, sessions included) and until
   each service reported `ErasureCompleted`, as auth_service records them.

3. The checks alone, in process, where the whole stack's figures drown in this machine's
   noise: the replicas' batch INSERT (runtime.replica.ReplicaWriter) of the same envelopes
   with and without the `erased_users` filter (1,000 erased users in the table), in
   alternating rounds, on a scratch schema; and the round trip of live_service's check
   (one SISMEMBER) against the feed's own append script.

``BENCH_ROUNDS`` and ``BENCH_SECONDS`` are bench/write_path.py's."""

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
import orjson
from sqlalchemy import MetaData, text

from bench.common import ROOT
from bench.stack import Stack, drop_databases, procfile_stack
from bench.write_path import compare, document, measured_trees
from contracts.envelope import EventEnvelope
from contracts.resume_events import ResumeUpdated
from live_service.domain import FeedEntry
from live_service.feeds import ERASED_KEY, Feeds
from runtime.db import asyncpg_dsn, make_engine
from runtime.erasure import define_erased_users
from runtime.redis_pool import make_redis
from runtime.replica import ReplicaWriter, define_resume_replica
from runtime.settings import ServiceSettings

RESUMES = int(os.environ.get("BENCH_ERASURE_RESUMES", "100"))
ERASURE_TIMEOUT = 300.0


def base_commit() -> str:
    """The commit before erasure: the parent of the one that added runtime/erasure.py."""
    added = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--",
                            "runtime/erasure.py"], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout.split()
    return f"{added[-1]}^"


def write_path(rev: str) -> None:
    results, gaps = measured_trees(rev, prefix="bench-erasure-")
    print(f"write path, this tree over {rev} (the same run):")
    compare(results["after"], results["before"])
    assert not gaps, f"replicas lack acknowledged versions: {gaps}"


async def account_with_resumes(client: httpx.AsyncClient, email: str) -> None:
    signed = await client.post("/api/auth/dev-login", json={"email": email, "name": "Bench"})
    signed.raise_for_status()
    for n in range(RESUMES):
        created = await client.post("/api/resume/create", json=document(f"Resume {n}"))
        created.raise_for_status()
        resume_id = created.json()["id"]
        for version in (1, 2):
            saved = await client.put(f"/api/resume/update/{resume_id}", json={
                **document(f"Resume {n} v{version + 1}"), "version": version})
            saved.raise_for_status()


async def replicas_hold(stack: Stack, versions: int) -> None:
    db = await asyncpg.connect(asyncpg_dsn(stack.env["DATABASE_URL"]))
    try:
        deadline = time.monotonic() + ERASURE_TIMEOUT
        while min([await db.fetchval(f"SELECT count(*) FROM {s}.resume_versions")
                   for s in ("compile", "ai")]) < versions:
            assert time.monotonic() < deadline, "the replicas never caught up"
            await asyncio.sleep(0.2)
    finally:
        await db.close()


async def timed_erasure(stack: Stack) -> None:
    headers = {"Origin": stack.gateway}
    async with (httpx.AsyncClient(base_url=stack.gateway, headers=headers, timeout=60) as user,
                httpx.AsyncClient(base_url=stack.gateway, headers=headers, timeout=60) as other):
        email = f"erased-{os.getpid()}@bench.example"
        await account_with_resumes(user, email)
        await account_with_resumes(other, f"kept-{os.getpid()}@bench.example")
        await replicas_hold(stack, 2 * RESUMES * 3)
        started = time.perf_counter()
        erased = await user.request("DELETE", "/api/user/me", json={"confirm": email})
        accepted = time.perf_counter() - started
        erased.raise_for_status()
        progress = await until_erased(other, erased.json()["status_url"])
        finished = time.perf_counter() - started
    asked = datetime.fromisoformat(progress["requested_at"])
    print(f"erasure of a user with {RESUMES} resumes x 3 versions (beside another as big): "
          f"202 in {accepted * 1000:.0f} ms, every service done in {finished * 1000:.0f} ms")
    for service in progress["services"]:
        done = datetime.fromisoformat(service["completed_at"])
        print(f"  {service['service']:<16} done {(done - asked).total_seconds() * 1000:7.0f} ms "
              "after the request")


async def until_erased(client: httpx.AsyncClient, status_url: str) -> dict[str, object]:
    deadline = time.monotonic() + ERASURE_TIMEOUT
    while True:
        response = await client.get(status_url)
        response.raise_for_status()
        body: dict[str, object] = response.json()
        if body["status"] == "erased":
            return body
        assert time.monotonic() < deadline, f"the erasure never finished: {body}"
        await asyncio.sleep(0.05)


def erasure_time() -> None:
    name = f"erasure_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="bench-erasure-") as work:
        try:
            with procfile_stack(name, ROOT, Path(work), 7) as stack:
                asyncio.run(timed_erasure(stack))
        finally:
            asyncio.run(drop_databases([name]))


BATCH, BATCHES, CHECK_ROUNDS = 8, 150, 6


def bodies(owner: str, batch: int) -> list[bytes]:
    return [orjson.dumps(EventEnvelope(
        event_id=uuid.uuid4(), event_type=ResumeUpdated.event_type, stream_id=str(uuid.uuid4()),
        stream_version=1, occurred_at=datetime.now(UTC), user_id=owner,
        payload={"resume_id": "r", "owner_id": owner, "document": document("Bench")},
    ).model_dump(mode="json")) for _ in range(batch)]


async def replica_checks() -> None:
    schema = f"bench_erasure_{os.getpid()}"
    metadata = MetaData(schema=schema)
    replica, erased = define_resume_replica(metadata), define_erased_users(metadata)
    engine = make_engine(ServiceSettings().database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            await conn.run_sync(metadata.create_all)
            await conn.execute(erased.insert(), [{"user_id": str(uuid.uuid4())}
                                                 for _ in range(1000)])
        writers = {"without": ReplicaWriter(engine, replica),
                   "with": ReplicaWriter(engine, replica, erased=erased)}
        batches = [bodies(str(uuid.uuid4()), BATCH) for _ in range(BATCHES * CHECK_ROUNDS * 2)]
        times: dict[str, list[float]] = {name: [] for name in writers}
        for round_number in range(CHECK_ROUNDS):
            for name in (list(writers) if round_number % 2 == 0 else list(writers)[::-1]):
                started = time.perf_counter()
                for _ in range(BATCHES):
                    await writers[name].write(batches.pop())
                times[name].append((time.perf_counter() - started) / (BATCHES * BATCH))
        ratios = sorted(w / o for w, o in zip(times["with"], times["without"], strict=True))
        print(f"replica batch INSERT ({BATCH} envelopes a batch), per envelope: without the "
              f"erased-users filter {statistics.median(times['without']) * 1e6:.0f} us, with "
              f"it {statistics.median(times['with']) * 1e6:.0f} us: x"
              f"{statistics.median(ratios):.3f} (rounds {', '.join(f'{r:.3f}' for r in ratios)})")
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()


async def live_check() -> None:
    """The feed's append script, which checks the erased set itself (one SISMEMBER inside
    the script), for a user who is not erased and for one who is."""
    redis = make_redis(ServiceSettings().redis_url.rsplit("/", 1)[0] + "/7")
    try:
        feeds = Feeds(redis, 1000, 60, 60)
        user, erased = f"bench-{uuid.uuid4()}", f"bench-erased-{uuid.uuid4()}"
        await redis.sadd(ERASED_KEY, erased)  # type: ignore[misc]
        times = {}
        for who in (user, erased):
            entry = FeedEntry(who, "resume", {"resume_id": "r", "version": 1})
            started = time.perf_counter()
            for _ in range(2000):
                await feeds.append(str(uuid.uuid4()), entry)
            times[who] = (time.perf_counter() - started) / 2000
        print(f"live feed, per message: the append script (its erased check inside) "
              f"{times[user] * 1e6:.0f} us; for an erased user, dropped by it, "
              f"{times[erased] * 1e6:.0f} us")
        await redis.delete(f"live:{user}")
        await redis.srem(ERASED_KEY, erased)  # type: ignore[misc]
    finally:
        await redis.aclose()


def main() -> None:
    write_path(sys.argv[1] if len(sys.argv) > 1 else base_commit())
    erasure_time()
    asyncio.run(replica_checks())
    asyncio.run(live_check())


if __name__ == "__main__":
    main()
