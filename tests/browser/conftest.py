"""The web client in a real browser: Debian's chromium (never a downloaded one), driven by
Playwright's test runner (node), against one whole Procfile stack for every browser test.

The stack is the e2e stack's (tests/e2e/conftest.py: honcho on free loopback ports, the
local OIDC issuer for "Sign in with Google", the fake Gemini) with the development sign-in
on, a database, a RabbitMQ vhost and a Redis db of its own; its gateway serves the build of
web/ made (when missing or stale) before it starts. Beside it, Vite's development server,
proxying /api to that gateway, on a port the stack allows as an origin.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from runtime.wait_healthy import healthy
from tests.conftest import REDIS_URL
from tests.e2e.conftest import (
    Stack,
    database_of_its_own,
    free_ports,
    gemini_server,
    honcho,
    issuer_in_thread,
    rabbitmq_vhost,
    stack_env,
    wait_until_up,
)
from tests.e2e.processes import stop

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
CHROMIUM = Path("/usr/bin/chromium")
# the shared e2e stack uses Redis db 2, private stacks 3, the benches 7 and 8
BROWSER_REDIS_DB = 4
# who "Sign in with Google" signs in as (the local issuer vouches for whoever is set)
GOOGLE_SUBJECT = "browser-google-user"
GOOGLE_EMAIL = "grace@example.com"


def build_is_stale() -> bool:
    """Whether web/dist is missing or older than a source it is built from."""
    index = DIST / "index.html"
    if not index.is_file():
        return True
    built = index.stat().st_mtime
    sources = [*(WEB / "src").rglob("*"), *(WEB / "public").rglob("*"), WEB / "index.html",
               WEB / "vite.config.ts", WEB / "package.json", WEB / "tsconfig.json"]
    return any(path.is_file() and path.stat().st_mtime > built for path in sources)


def build_web() -> None:
    if build_is_stale():
        subprocess.run(["npm", "run", "build", "--silent", "-w", "web"], cwd=ROOT, check=True,
                       capture_output=True, timeout=300)


@pytest.fixture(scope="session")
def web_build() -> Path:
    if shutil.which("npm") is None or not (ROOT / "node_modules" / ".bin" / "vite").exists():
        pytest.fail("node_modules is missing: run `make install` (npm ci)")
    build_web()
    return DIST


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def web_stack(database_url: str, dist: Path, workdir: Path,
              extra_origins: tuple[str, ...] = ()) -> Iterator[Stack]:
    """The whole stack on `database_url`'s `_browser` sibling, serving `dist`; `extra_origins`
    may call it too (the Vite dev server's)."""
    with contextlib.ExitStack() as running:
        url = running.enter_context(database_of_its_own(database_url, "browser"))
        amqp_url = running.enter_context(
            rabbitmq_vhost(f"rb_browser_{os.getpid()}_{uuid.uuid4().hex[:6]}"))
        issuer = running.enter_context(issuer_in_thread())
        issuer.sign_in_as(GOOGLE_SUBJECT, email=GOOGLE_EMAIL, name="Grace Hopper")
        gemini = running.enter_context(gemini_server())
        ports = free_ports()
        env = stack_env(ports, url, amqp_url, issuer, gemini, workdir)
        env = {**env, "DEV_LOGIN_ENABLED": "true", "WEB_DIST_DIR": str(dist),
               "ALLOWED_ORIGINS": ",".join([env["ALLOWED_ORIGINS"], *extra_origins]),
               "REDIS_URL": urlsplit(REDIS_URL)._replace(path=f"/{BROWSER_REDIS_DB}").geturl()}
        process = running.enter_context(honcho(env, workdir))
        wait_until_up(process, ports, amqp_url, workdir / "stack.log")
        yield Stack(ports, url, amqp_url, issuer, gemini, workdir / "stack.log")


@dataclass(frozen=True)
class BrowserStack:
    stack: Stack
    dev_server_url: str  # Vite's development server, sending /api to the stack's gateway


@contextlib.contextmanager
def vite_dev_server(port: int, gateway_url: str, log: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [str(ROOT / "node_modules" / ".bin" / "vite"), "--port", str(port), "--strictPort"],
            cwd=WEB, env={**os.environ, "GATEWAY_URL": gateway_url}, stdout=sink,
            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while not healthy(url + "/"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"vite did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.2)
            yield url
        finally:
            stop(process)


@pytest.fixture(scope="package")
def browser_stack(database_url: str, web_build: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserStack]:
    workdir = tmp_path_factory.mktemp("browser")
    dev_port = free_port()
    dev_origin = f"http://127.0.0.1:{dev_port}"
    with (web_stack(database_url, web_build, workdir, (dev_origin,)) as stack,
          vite_dev_server(dev_port, stack.gateway_url, workdir / "vite.log") as dev_url):
        yield BrowserStack(stack, dev_url)
