"""The compose stack of deploy/compose.yaml, started for real by `make test-compose` (after
deploy/compose/prepare.sh and the image build): project `rb-compose-test`, with the test
override (compose.test.yaml) pointing Google sign-in and Gemini at the fakes (tests/fakes),
served here on this machine's docker0 address, which the containers reach. The stack is
torn down with its volumes at the end, on failure too (its logs printed first)."""

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import issuer_in_thread
from tests.fakes.gemini import FakeGemini
from tests.fakes.oidc import FakeIssuer

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose" / "compose.sh"
OVERRIDE = Path(__file__).parent / "compose.test.yaml"
PROJECT = "rb-compose-test"
GATEWAY_PORTS = (18000, 18001)
# every app service of deploy/compose.yaml (migrate runs once); all of them scale
APP_SERVICES = ("gateway", "auth", "resume", "compile", "ai", "live", "compile_worker",
                "ai_worker", "auth_relay", "resume_relay", "compile_relay")
# the processes that relay a schema's outbox (ai_service's in its worker), one leading
RELAYS = ("auth_relay", "resume_relay", "compile_relay", "ai_worker")
LEADER_LINE = "is the leader"


def docker0_address() -> str:
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "docker0"], check=True,
                           capture_output=True, text=True).stdout
    match = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", shown)
    assert match, f"no IPv4 address on docker0: {shown!r}"
    return match.group(1)


@dataclass
class Stack:
    env: dict[str, str]
    issuer: FakeIssuer
    gemini: FakeGemini
    started: float = field(default_factory=time.monotonic)

    def compose(self, *args: str, timeout: float = 600, check: bool = True,
                ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(COMPOSE), "-p", PROJECT, *args], env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"docker compose {' '.join(args)}: {result.returncode}\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def containers(self, service: str) -> list[str]:
        """The ids of the service's running containers, in replica order (one `docker ps`:
        the compose client takes a second to start on a busy machine)."""
        listed = docker("ps", "--filter", f"label=com.docker.compose.project={PROJECT}",
                        "--filter", f"label=com.docker.compose.service={service}", "--format",
                        '{{.ID}} {{.Label "com.docker.compose.container-number"}}').split()
        numbered = sorted(zip(listed[1::2], listed[0::2], strict=True),
                          key=lambda pair: int(pair[0]))
        return [cid for _, cid in numbered]

    def gateway_urls(self) -> list[str]:
        urls = []
        for cid in self.containers("gateway"):
            port = docker("port", cid, "8000/tcp").split()[0].rsplit(":", 1)[-1]
            urls.append(f"http://127.0.0.1:{port}")
        return urls

    def logs(self, container: str) -> str:
        return docker("logs", container, stderr=True)

    def address(self, container: str) -> str:
        return docker("inspect", "-f",
                      "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                      container).strip()

    def up(self, *args: str) -> float:
        """`up --wait` (every service healthy, migrations done): its seconds."""
        started = time.monotonic()
        self.compose("up", "-d", "--wait", "--wait-timeout", "300", "--no-build", *args)
        return time.monotonic() - started


def docker(*args: str, stderr: bool = False) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout + (result.stderr if stderr else "")


def report(line: str) -> None:
    """A figure for the CI log (pytest runs with -s)."""
    print(f"test-compose: {line}", flush=True)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    host = docker0_address()
    with contextlib.ExitStack() as running:
        issuer = running.enter_context(issuer_in_thread(host))
        gemini = FakeGemini(host=host).start()
        running.callback(gemini.stop)
        first = f"http://127.0.0.1:{GATEWAY_PORTS[0]}"
        env = {**os.environ, "COMPOSE_EXTRA_FILES": str(OVERRIDE),
               "RB_GATEWAY_PORTS": f"{GATEWAY_PORTS[0]}-{GATEWAY_PORTS[1]}",
               "RB_OIDC_METADATA_URL": issuer.metadata_url, "RB_GEMINI_URL": gemini.url,
               "PUBLIC_URL": first,
               "ALLOWED_ORIGINS": ",".join(f"http://127.0.0.1:{p}" for p in GATEWAY_PORTS)}
        stack = Stack(env, issuer, gemini)
        stack.compose("down", "-v", "--remove-orphans", "--timeout", "5")  # an earlier run's
        try:
            report(f"stack healthy in {stack.up():.0f} s")
            yield stack
        except BaseException:
            raise
        finally:
            if os.environ.get("RB_COMPOSE_LOGS") or not _passed.get("all", True):
                print(stack.compose("logs", "--tail", "40", check=False).stdout[-20000:])
            stack.compose("down", "-v", "--remove-orphans", "--timeout", "5")
            report("torn down with its volumes")


_passed: dict[str, bool] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Only under make test-compose (which prepares the engine and builds the images): a
    bare `pytest` collects this package too."""
    if os.environ.get("RB_TEST_COMPOSE") == "1":
        return
    skip = pytest.mark.skip(reason="the compose stack runs under make test-compose")
    for item in items:
        if Path(str(item.path)).is_relative_to(Path(__file__).parent):
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    if outcome.get_result().failed:
        _passed["all"] = False
