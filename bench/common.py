"""Shared benchmark plumbing: start a service under uvicorn on a free loopback port, drive it
with wrk (bounded in time), and parse p50/p99/throughput. Targets only 127.0.0.1."""

import asyncio
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import httpx
from redis.asyncio import Redis

from gateway.routing import SERVICE_OF_SEGMENT
from gateway.settings import GatewaySettings
from runtime.identity import IDENTITY_HEADER, IdentitySigner
from runtime.sessions import SessionStore

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def background_process(*args: str, env: dict[str, str] | None = None) -> Iterator[int]:
    """Run a helper process (e.g. an outbox relay) for the duration of the block; its pid."""
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT,
                               env={**os.environ, **(env or {})})
    try:
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


# as the Procfile runs them: uvloop, httptools with the head deadline, and no
# X-Forwarded-* rewriting (the gateway's own forwarded-for rule is the only one)
UVICORN_SPEED = ["--loop", "uvloop", "--http", "runtime.http_server:HttpProtocol",
                 "--no-proxy-headers"]


@contextmanager
def uvicorn_process(app: str, env: dict[str, str] | None = None, *options: str,
                    log: Path | None = None) -> Iterator[tuple[str, int]]:
    """Run `app` (a factory) in one uvicorn process, its log lines (stderr) appended to
    `log` if given; yield its base URL and pid."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--no-access-log", "--log-level", "warning",
               *UVICORN_SPEED, *options]
    with log.open("ab") if log else contextlib.nullcontext() as sink:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},
                                   stderr=sink)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def uvicorn_server(app: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `app` (a factory) in one uvicorn process; yield its base URL."""
    with uvicorn_process(app, env) as (base, _):
        yield base


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@cache
def _signer(ttl_seconds: int) -> IdentitySigner:
    return IdentitySigner(GatewaySettings().identity_signing_key, ttl_seconds)


def identity(user_id: str, method: str, url: str, ttl_seconds: int = 3600) -> dict[str, str]:
    """The identity header the gateway would send with this one request (its method, its
    URL's path and query; the service from the path), for benches that call a service
    directly. It lasts `ttl_seconds`, so wrk can repeat the same request with it."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    audience = SERVICE_OF_SEGMENT[parts.path.split("/")[1]]
    token = _signer(ttl_seconds).sign(user_id, audience, method, target.encode())
    return {IDENTITY_HEADER: token.decode()}


def identity_hook(user_id: str) -> Callable[[httpx.Request], Awaitable[None]]:
    """An httpx request hook: every request gets its own identity header."""
    async def sign(request: httpx.Request) -> None:
        request.headers.update(identity(user_id, request.method,
                                        request.url.raw_path.decode("ascii")))
    return sign


async def open_session(redis_url: str, user_id: str) -> str:
    """What a sign-in leaves behind: a session in Redis for the user; its id."""
    redis = Redis.from_url(redis_url)
    try:
        return await SessionStore(redis).create(user_id)
    finally:
        await redis.aclose()


async def wait_replicated(schema: str, resume_ids: list[str], queue: str,
                          timeout: float = 300.0) -> None:
    """Until the resume replica in `schema` holds these resumes and its queue is drained. The
    queue may first hold a backlog of resume events from earlier runs (the queue of a consumer
    that is not running keeps filling), and catching up is not what a benchmark measures."""
    from runtime.db import asyncpg_dsn
    from runtime.settings import ServiceSettings
    settings = ServiceSettings()
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        while (held := await conn.fetchval(
                f"SELECT count(DISTINCT resume_id) FROM {schema}.resume_versions "
                f"WHERE resume_id = ANY($1::text[])", resume_ids)) < len(resume_ids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{schema} replica holds {held}/{len(resume_ids)} resumes")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    broker = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await broker.channel()
        while (await channel.declare_queue(queue, passive=True)).declaration_result \
                .message_count and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        await broker.close()
    await asyncio.sleep(1.0)  # the last deliveries the consumers had prefetched


def wait_healthy(base: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{base} did not become healthy")


@dataclass
class Result:
    name: str
    p50_ms: float
    p99_ms: float
    rps: float

    def line(self) -> str:
        return (f"{self.name:<28} p50 {self.p50_ms:7.2f} ms   p99 {self.p99_ms:7.2f} ms   "
                f"{self.rps:9.0f} req/s")


def interleaved(name: str, rounds: list[Result]) -> Result:
    """One figure from several rounds: mean throughput, median p50, worst p99."""
    return Result(name, statistics.median(r.p50_ms for r in rounds),
                  max(r.p99_ms for r in rounds), statistics.mean(r.rps for r in rounds))


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def duration_ms(text: str) -> float:
    """A duration as wrk prints it (`812.50us`, `3.21ms`, `1.02s`), in milliseconds."""
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNIT[unit]


def wrk(name: str, url: str, headers: dict[str, str], seconds: int = 8, connections: int = 8,
        method: str = "GET", body: str | None = None) -> Result:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (make install does it as root)")
    script = f'wrk.method = "{method}"\n'
    if body is not None:
        script += f"wrk.body = [==[{body}]==]\n"  # a Lua long string: JSON may hold ]]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", handle.name]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    output = subprocess.run([*args, url], capture_output=True, text=True, check=True,
                            timeout=seconds + 30).stdout
    os.unlink(handle.name)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{name}: {errors.group(1)} failed responses\n{output}")
    return Result(
        name,
        duration_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),  # type: ignore[union-attr]
        duration_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),  # type: ignore[union-attr]
        float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
    )
