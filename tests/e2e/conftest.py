"""The real stack for the end-to-end tests: every process of the Procfile (gateway, four
services, two workers, three outbox relays; ai_service's runs in its worker) started by
honcho as separate processes on free loopback ports (ops listeners too), with the local OIDC issuer
(tests/fakes/oidc.py) and the fake Gemini server (tests/fakes/gemini.py) standing in for Google.

It gets a RabbitMQ vhost of its own, Redis db 2 and a database of its own next to the
session's test database (`<database_url>_e2e`, migrated and dropped like it). Why not the
session's database itself: the in-process service apps of other test modules stay up for the
whole session with their outbox relays, and one relay per schema is elected by an advisory
lock in the database; on a shared database the elected relay could be theirs and publish this
stack's events to their vhost, where this stack's consumers never see them. A database of
its own also lets the replay test compare whole read models.

The stack lives for the e2e package only and stops by itself, on failure too: honcho gets
SIGTERM (it stops its children, each in a session of its own) and whatever of its process
tree is still alive after the grace period gets SIGKILL.
"""

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock
from urllib.parse import quote, urlsplit

import aio_pika
import httpx
import pytest
from aio_pika.exceptions import ChannelNotFoundEntity

from contracts.topology import AI_RATINGS_CONSUMER as RATINGS_CONSUMER
from contracts.topology import (
    AI_RESUMES_CONSUMER,
    AUTH_EXPORTS_CONSUMER,
    COMPILE_RESUMES_CONSUMER,
    LIVE_FEED_CONSUMER,
)
from contracts.topology import COMPILE_JOBS_CONSUMER as JOBS_CONSUMER
from contracts.topology import RESUME_SESSIONS_CONSUMER as SESSIONS_CONSUMER
from ops.migrate import upgrade_all
from runtime.wait_healthy import health_urls, healthy
from tests.conftest import AMQP_URL, REDIS_URL, drop_database
from tests.e2e.processes import stop
from tests.fakes.gemini import FakeGemini
from tests.fakes.oidc import FakeIssuer
from tests.integration.gateway.conftest import FRONTEND, authorize, start_sign_in

T = TypeVar("T")
HERE = Path(__file__).parent
ROOT = HERE.parents[1]
PROCFILE = ROOT / "Procfile"
HONCHO = ROOT / ".venv" / "bin" / "honcho"
PORT_VARIABLES = ("GATEWAY_PORT", "AUTH_PORT", "RESUME_PORT", "COMPILE_PORT", "AI_PORT",
                  "LIVE_PORT")
# the ops listener of each Procfile process (runtime.ops: /metrics, /readyz, /healthz)
OPS_PORT_VARIABLES = ("GATEWAY_OPS_PORT", "AUTH_OPS_PORT", "RESUME_OPS_PORT",
                      "COMPILE_OPS_PORT", "AI_OPS_PORT", "COMPILE_WORKER_OPS_PORT",
                      "AI_WORKER_OPS_PORT", "AUTH_RELAY_OPS_PORT", "RESUME_RELAY_OPS_PORT",
                      "COMPILE_RELAY_OPS_PORT", "LIVE_OPS_PORT", "EXPORT_WORKER_OPS_PORT")
GEMINI_KEY = "test-key"
START_TIMEOUT = 60.0
# queue -> consumers the Procfile must start on it (ai_service.resumes: the ai app and worker)
EXPECTED_CONSUMERS = {COMPILE_RESUMES_CONSUMER: 1, JOBS_CONSUMER: 1, AI_RESUMES_CONSUMER: 2,
                      RATINGS_CONSUMER: 1, SESSIONS_CONSUMER: 1, LIVE_FEED_CONSUMER: 1,
                      AUTH_EXPORTS_CONSUMER: 1}


def off_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion in a thread of its own, away from the session loop
    (asyncio.run would otherwise unset the loop pytest-asyncio keeps for the session)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


# -- outside services: the OIDC issuer and Gemini -------------------------------------------

@contextlib.contextmanager
def issuer_in_thread(host: str = "127.0.0.1") -> Iterator[FakeIssuer]:
    """The local OIDC issuer (on `host`) on an event loop of its own, so it answers the
    stack's auth_service whatever the test's loop is doing (sync fixtures, CLI threads)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-oidc", daemon=True)
    thread.start()
    issuer = FakeIssuer(host=host)
    try:
        asyncio.run_coroutine_threadsafe(issuer.start(), loop).result(10)
        yield issuer
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(issuer.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@contextlib.contextmanager
def gemini_server() -> Iterator[FakeGemini]:
    fake = FakeGemini().start()
    try:
        yield fake
    finally:
        fake.stop()


# -- broker and database of the stack's own ---------------------------------------------------

def rabbitmqctl(*args: str) -> None:
    result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True,
                            timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip()}")


@contextlib.contextmanager
def rabbitmq_vhost(name: str) -> Iterator[str]:
    """A vhost that guest may use, deleted (with its queues) at the end; yields its URL."""
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield urlsplit(AMQP_URL)._replace(path="/" + quote(name, safe="")).geturl()
    finally:
        rabbitmqctl("delete_vhost", name)


@contextlib.contextmanager
def database_of_its_own(session_database_url: str, suffix: str = "e2e") -> Iterator[str]:
    """`<session database>_<suffix>`, migrated, dropped at the end."""
    url = f"{session_database_url}_{suffix}"
    with ThreadPoolExecutor(1) as thread:  # upgrade_all runs asyncio.run
        thread.submit(upgrade_all, url).result()
    try:
        yield url
    finally:
        off_loop(drop_database(url))


async def consumer_counts(amqp_url: str, queues: list[str]) -> dict[str, int]:
    """Consumers on each queue (0 for a queue not declared yet)."""
    counts = {}
    async with await aio_pika.connect(amqp_url) as connection:
        for name in queues:
            channel = await connection.channel()
            try:
                declared = await channel.declare_queue(name, passive=True)
                counts[name] = declared.declaration_result.consumer_count or 0
                await channel.close()
            except ChannelNotFoundEntity:
                counts[name] = 0
    return counts


# -- the stack ---------------------------------------------------------------------------

def free_ports() -> dict[str, int]:
    """One free loopback port per Procfile port variable, public and ops (sockets held until
    all are bound, so they are distinct)."""
    with contextlib.ExitStack() as held:
        ports = {}
        for variable in PORT_VARIABLES + OPS_PORT_VARIABLES:
            sock = held.enter_context(contextlib.closing(socket.socket()))
            sock.bind(("127.0.0.1", 0))
            ports[variable] = sock.getsockname()[1]
        return ports


def stack_env(ports: dict[str, int], database_url: str, amqp_url: str, issuer: FakeIssuer,
              gemini: FakeGemini, workdir: Path) -> dict[str, str]:
    """Every setting the Procfile's processes need (see each service's settings.py)."""
    gateway = f"http://127.0.0.1:{ports['GATEWAY_PORT']}"
    service_urls = {f"{name}_SERVICE_URL": f"http://127.0.0.1:{ports[f'{name}_PORT']}"
                    for name in ("AUTH", "RESUME", "COMPILE", "AI", "LIVE")}
    return {
        **{variable: str(port) for variable, port in ports.items()}, **service_urls,
        "ENVIRONMENT": "test", "DATABASE_URL": database_url, "AMQP_URL": amqp_url,
        "REDIS_URL": urlsplit(REDIS_URL)._replace(path="/2").geturl(),
        "INTERNAL_SECRET": secrets.token_urlsafe(32), "RELAY_POLL_SECONDS": "0.2",
        "PYTHONUNBUFFERED": "1", "LIVE_HEARTBEAT_SECONDS": "1",
        "ALLOWED_ORIGINS": f"{gateway},{FRONTEND}",
        "RATE_LIMIT_PER_SESSION": "100000", "RATE_LIMIT_PER_IP": "100000",
        "OIDC_SERVER_METADATA_URL": issuer.metadata_url, "OIDC_CLIENT_ID": issuer.client_id,
        "OIDC_CLIENT_SECRET": issuer.client_secret,
        "OIDC_REDIRECT_URI": f"{gateway}/api/auth/callback",
        "COOKIE_SECURE": "false", "DEV_LOGIN_ENABLED": "false",
        "GEMINI_API_KEY": GEMINI_KEY, "GEMINI_BASE_URL": gemini.url,
        "GEMINI_TIMEOUT_SECONDS": "10", "GEMINI_BACKOFF_SECONDS": "0.1",
        "ARTIFACTS_DIR": str(workdir / "artifacts"), "COMPILE_WORK_DIR": str(workdir / "tex"),
    }


@contextlib.contextmanager
def honcho(env: dict[str, str], workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`honcho start -f Procfile` with `env` as its env file: honcho lets the env file win
    over its own environment, so the developer's `.env` must not be the one it reads."""
    env_file = workdir / "stack.env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in env.items()))
    with open(workdir / "stack.log", "wb") as log:
        process = subprocess.Popen(
            [str(HONCHO), "start", "-f", str(PROCFILE), "-e", str(env_file), "--no-colour"],
            cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            yield process
        finally:
            stop(process)


def log_tail(log: Path, lines: int = 40) -> str:
    """The log's error lines (the cause, usually) and its last lines."""
    text = log.read_text(errors="replace").splitlines()
    errors = [line for line in text if '"level":"ERROR"' in line or "Traceback" in line
              or "Error" in line][:20]
    return "\n".join(["-- errors:", *errors, "-- last lines:", *text[-lines:]])


def wait_until_up(process: subprocess.Popen[bytes], ports: dict[str, int], amqp_url: str,
                  log: Path) -> None:
    """Every HTTP process answers /healthz (runtime.wait_healthy reads the ports the way
    `make up` does) and every consumer the Procfile starts is on its queue."""
    with mock.patch.dict(os.environ, {k: str(ports[k]) for k in PORT_VARIABLES}):
        pending = health_urls(PROCFILE)
    assert len(pending) == len(PORT_VARIABLES), pending
    deadline = time.monotonic() + START_TIMEOUT

    def check(what: str) -> None:
        if process.poll() is not None:
            raise RuntimeError(f"the stack exited ({process.returncode}) while starting:\n"
                               f"{log_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the stack did not come up in {START_TIMEOUT:.0f} s "
                               f"({what}):\n{log_tail(log)}")
        time.sleep(0.2)

    while pending:
        pending = {name: url for name, url in pending.items() if not healthy(url)}
        if pending:
            check(f"no answer from {', '.join(pending)}")
    while True:
        counts = off_loop(consumer_counts(amqp_url, list(EXPECTED_CONSUMERS)))
        missing = {q: n for q, n in counts.items() if n < EXPECTED_CONSUMERS[q]}
        if not missing:
            return
        check(f"consumers missing on {missing}")


@dataclass(frozen=True)
class Stack:
    ports: dict[str, int]
    database_url: str
    amqp_url: str
    issuer: FakeIssuer
    gemini: FakeGemini
    log: Path

    @property
    def gateway_url(self) -> str:
        return self.url_of("GATEWAY_PORT")

    def url_of(self, port_variable: str) -> str:
        """A public listener (`AUTH_PORT`) or an ops listener (`AUTH_OPS_PORT`)."""
        return f"http://127.0.0.1:{self.ports[port_variable]}"

    def client(self) -> httpx.AsyncClient:
        """A browser on the frontend's origin: only cookies and the gateway."""
        return httpx.AsyncClient(base_url=self.gateway_url, headers={"Origin": FRONTEND},
                                 timeout=40)


@pytest.fixture(scope="package")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("e2e")
    vhost = f"rb_e2e_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with contextlib.ExitStack() as running:
        e2e_database_url = running.enter_context(database_of_its_own(database_url))
        amqp_url = running.enter_context(rabbitmq_vhost(vhost))
        issuer = running.enter_context(issuer_in_thread())
        gemini = running.enter_context(gemini_server())
        ports = free_ports()
        env = stack_env(ports, e2e_database_url, amqp_url, issuer, gemini, workdir)
        process = running.enter_context(honcho(env, workdir))
        wait_until_up(process, ports, amqp_url, workdir / "stack.log")
        yield Stack(ports, e2e_database_url, amqp_url, issuer, gemini, workdir / "stack.log")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """test_replay inspects what the flow of test_stack left in the stack: run it after."""
    replay = [item for item in items if item.path == HERE / "test_replay.py"]
    rest = [item for item in items if item.path != HERE / "test_replay.py"]
    flow = [n for n, item in enumerate(rest) if item.path == HERE / "test_stack.py"]
    if replay and flow:
        items[:] = rest[:flow[-1] + 1] + replay + rest[flow[-1] + 1:]


# -- what a browser does through the gateway ------------------------------------------------

async def sign_in(stack: Stack, client: httpx.AsyncClient) -> str:
    """Sign in like a browser: /api/auth/login, the issuer, back to /api/auth/callback.
    Returns the subject the issuer vouched for."""
    subject = f"e2e-{uuid.uuid4().hex}"
    stack.issuer.sign_in_as(subject, email=f"{subject}@example.com", name="Ada Lovelace")
    to_issuer = await start_sign_in(client)
    assert to_issuer.startswith(stack.issuer.url), to_issuer
    callback = await authorize(client, to_issuer)
    assert callback.startswith(f"{stack.gateway_url}/api/auth/callback"), callback
    response = await client.get(callback)
    assert response.status_code == 303, response.text
    assert "rb_session" in client.cookies
    return subject


async def poll(client: httpx.AsyncClient, path: str, finished: Callable[[dict[str, Any]], bool],
               timeout: float = 45.0) -> dict[str, Any]:
    """GET `path` (long-polling with `wait`) until `finished(body)` or the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(path, params={"wait": 10})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if finished(body) or time.monotonic() > deadline:
            return body


async def compile_version(client: httpx.AsyncClient, resume_id: str,
                          version: int) -> dict[str, Any]:
    response = await client.post(f"/api/compile/{resume_id}", json={"version": version})
    assert response.status_code == 202, response.text
    status_url = response.json()["status_url"]  # the public link, through the gateway
    assert status_url == f"/api/compile/status/{response.json()['job_id']}"
    return await poll(client, status_url, lambda job: job["status"] in ("succeeded", "failed"))


async def rate_version(client: httpx.AsyncClient, resume_id: str,
                       version: int) -> dict[str, Any]:
    response = await client.post(f"/api/ai/rate/{resume_id}", json={"version": version})
    assert response.status_code == 202, response.text
    location = response.headers["location"]  # the public link, through the gateway
    assert location == f"/api/ai/ratings/{response.json()['job_id']}"
    return await poll(client, location, lambda job: job["status"] in ("succeeded", "failed"))
