"""A whole Procfile stack of one test's own, for a test that takes a dependency down under it
(which the package's shared `stack` of tests/e2e/conftest.py must never see): every process
under honcho on free loopback ports, against the database the test names (a throwaway
cluster's), with a RabbitMQ vhost, a Redis db, an OIDC issuer and a fake Gemini of its own.
Built from the same pieces as the shared stack, and stopped by itself like it.

Also the broker probes such a test asks afterwards: how many messages each queue still holds
(ready and unacknowledged), and what lies in a dead-letter queue (left there)."""

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import orjson
from aio_pika.exceptions import ChannelNotFoundEntity
from redis import Redis

from runtime.db import asyncpg_dsn
from tests.conftest import REDIS_URL
from tests.e2e.conftest import (
    Stack,
    free_ports,
    gemini_server,
    honcho,
    issuer_in_thread,
    off_loop,
    rabbitmq_vhost,
    stack_env,
    wait_until_up,
)

# the shared e2e stack uses Redis db 2, the benches 7 and 8
PRIVATE_REDIS_DB = 3


@dataclass(frozen=True)
class PrivateStack:
    stack: Stack
    process: subprocess.Popen[bytes]  # honcho: it stops every process when one exits
    vhost: str

    def exited(self) -> int | None:
        """honcho's exit status, None while it (and so every process of it) runs."""
        return self.process.poll()


@contextlib.contextmanager
def private_stack(database_url: str, workdir: Path,
                  redis_db: int = PRIVATE_REDIS_DB) -> Iterator[PrivateStack]:
    """The Procfile stack on `database_url` (migrated already), up and consuming."""
    vhost = f"rb_e2e_private_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with contextlib.ExitStack() as running:
        amqp_url = running.enter_context(rabbitmq_vhost(vhost))
        issuer = running.enter_context(issuer_in_thread())
        gemini = running.enter_context(gemini_server())
        ports = free_ports()
        env = stack_env(ports, database_url, amqp_url, issuer, gemini, workdir)
        env["REDIS_URL"] = urlsplit(REDIS_URL)._replace(path=f"/{redis_db}").geturl()
        running.callback(drop_read_cache_generations, database_url, env["REDIS_URL"])
        process = running.enter_context(honcho(env, workdir))
        log = workdir / "stack.log"
        wait_until_up(process, ports, amqp_url, log)
        yield PrivateStack(Stack(ports, database_url, amqp_url, issuer, gemini, log),
                           process, vhost)


def drop_read_cache_generations(database_url: str, redis_url: str) -> None:
    """Once the stack stopped: the read-cache generation counters of its users, which have
    no expiry (runtime/cache.py; the entries and sessions expire by themselves). Every user
    of the private database is this stack's. Best effort: a cluster left down is skipped."""
    async def owners() -> list[str]:
        conn = await asyncpg.connect(asyncpg_dsn(database_url), timeout=5)
        try:
            return [row["owner_id"] for row in
                    await conn.fetch("SELECT DISTINCT owner_id FROM resume.resumes")]
        finally:
            await conn.close()

    with contextlib.suppress(Exception):
        users = off_loop(owners())
        with contextlib.closing(Redis.from_url(redis_url)) as redis:
            if users:  # resume_service's namespace (resume_service/wiring.py)
                redis.delete(*(f"rc:resume:{user}" for user in users))


def queue_depths(vhost: str) -> dict[str, int]:
    """Messages in each queue of the vhost, ready and unacknowledged (a consumer's in-flight
    deliveries count: the declare-ok of a passive declare gives only the ready ones)."""
    result = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "--no-table-headers", "-p", vhost, "name",
         "messages"], capture_output=True, text=True, timeout=30, check=True)
    depths = {}
    for line in result.stdout.splitlines():
        name, _, count = line.rpartition("\t")
        if name:
            depths[name] = int(count)
    return depths


@dataclass(frozen=True)
class DeadLetter:
    event_type: str
    stream_id: str
    stream_version: int
    error: str


async def dead_letters(amqp_url: str, queue_name: str, limit: int = 1000) -> list[DeadLetter]:
    """What lies in a dead-letter queue, read without acknowledging: every message goes back
    to the queue when the channel closes."""
    found: list[DeadLetter] = []
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(queue_name, passive=True)
        except ChannelNotFoundEntity:
            return found
        while len(found) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            body: dict[str, Any] = orjson.loads(message.body)
            error = (message.headers or {}).get("x-error", "")
            found.append(DeadLetter(
                body.get("event_type", "?"), body.get("stream_id", "?"),
                int(body.get("stream_version", 0)),
                error.decode(errors="replace") if isinstance(error, bytes) else str(error)))
        await channel.close()
    return found
