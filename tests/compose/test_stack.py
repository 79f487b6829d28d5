"""deploy/compose.yaml run for real (make test-compose): the whole flow through the stack's
gateway; then two of every app service, the flow again while one container of each is
killed, and nothing the stack acknowledged lost."""

import asyncio
import time
import uuid

import pytest

from tests.compose.conftest import APP_SERVICES, LEADER_LINE, RELAYS, Stack, docker, report
from tests.compose.flow import (
    Acknowledged,
    Browser,
    compile_job,
    nothing_acknowledged_is_lost,
    save,
    sign_in,
    whole_flow,
)
from tests.integration.compile.conftest import resume_document

RATE_LIMIT_PER_SESSION = 300  # compose.test.yaml's


async def test_the_whole_flow_runs_through_the_stack_as_users_run_it(stack: Stack) -> None:
    started = time.monotonic()
    async with Browser(stack.gateway_urls()) as browser:
        await whole_flow(browser, stack.issuer, Acknowledged())
        dev_login = await browser.post("/api/auth/dev-login", json={"email": "a@example.com"})
        assert dev_login.status_code == 404, dev_login.text  # no development sign-in
        for path in ("/metrics", "/readyz"):
            assert (await browser.get(path)).status_code == 404, path
    report(f"flow green on one of each in {time.monotonic() - started:.1f} s")


def test_app_containers_run_unprivileged_on_read_only_roots_and_tex_is_in_compile_only(
        stack: Stack) -> None:
    for service in APP_SERVICES:
        for container in stack.containers(service):
            user, read_only = docker("inspect", "-f",
                                     "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}",
                                     container).split()
            assert (user, read_only) == ("10001:10001", "true"), service
    app = stack.containers("resume")[0]
    compile_ = stack.containers("compile_worker")[0]
    probe = "import shutil, importlib.util as u; print(bool(shutil.which('pdflatex')), " \
            "bool(u.find_spec('typst')))"
    assert docker("exec", app, "python", "-c", probe).split() == ["False", "False"]
    assert docker("exec", compile_, "python", "-c", probe).split() == ["True", "True"]


def leaders(stack: Stack, service: str) -> list[str]:
    return [c for c in stack.containers(service) if LEADER_LINE in stack.logs(c)]


async def until(check, timeout: float = 45.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (found := check()) and time.monotonic() < deadline:
        await asyncio.sleep(1)
    return found


async def rate_limits_hold_across_gateways(stack: Stack) -> None:
    """One session's requests counted once over both gateways (Redis): twice the limit,
    spread over two gateways, is refused on both."""
    gateways = stack.gateway_urls()
    async with Browser(gateways) as browser:
        await sign_in(browser, stack.issuer)
        statuses = [(await browser.get("/api/user/me")).status_code
                    for _ in range(2 * RATE_LIMIT_PER_SESSION)]
    refused = {gateways[n % 2] for n, status in enumerate(statuses) if status == 429}
    assert set(statuses) <= {200, 429}, set(statuses)
    assert refused == set(gateways), (statuses.count(200), statuses.count(429))


def pdf_from_each_compile_instance(stack: Stack, user_id: str, job_id: str) -> list[int]:
    """The job's PDF asked of every compile HTTP container directly (from a gateway
    container, which signs the identity as it does for every request): its sizes."""
    signer = stack.containers("gateway")[0]
    sizes = []
    for compile_container in stack.containers("compile"):
        fetch = (
            "import os, urllib.request\n"
            "from runtime.identity import IdentitySigner\n"
            f"path = '/compile/pdf/{job_id}'\n"
            "token = IdentitySigner(os.environ['IDENTITY_SIGNING_KEY']).sign("
            f"'{user_id}', 'compile', 'GET', path.encode(), None).decode()\n"
            f"request = urllib.request.Request('http://{stack.address(compile_container)}:8000'"
            " + path, headers={'X-Internal-Identity': token})\n"
            "print(len(urllib.request.urlopen(request, timeout=10).read()))\n")
        sizes.append(int(docker("exec", signer, "python", "-c", fetch)))
    return sizes


async def keep_saving(writer: Browser, acked: Acknowledged, resume_id: str,
                      stop: asyncio.Event) -> None:
    """Autosaves every half second, a compile of every fourth, until `stop`."""
    version, n = 1, 0
    while not stop.is_set():
        n += 1
        document = resume_document(title="Autosaved", bullets=[f"Save number {n}"])
        version = await save(writer, acked, resume_id, version, document)
        if n % 4 == 0:
            await compile_job(writer, acked, resume_id, version,
                              "classic" if n % 8 == 0 else "standard")
        await asyncio.sleep(0.5)


async def kill_one_of_each(stack: Stack) -> dict[str, str]:
    """One container of every scaled service, SIGKILLed a second and a half apart; of the
    relays, the leader."""
    killed = {}
    for service in APP_SERVICES:
        running = stack.containers(service)
        leading = [c for c in running if LEADER_LINE in stack.logs(c)] if service in RELAYS \
            else []
        victim = (leading or running)[0]
        await asyncio.to_thread(docker, "kill", victim)
        killed[service] = victim
        await asyncio.sleep(1.5)
    return killed


@pytest.mark.timeout(900)
async def test_two_of_everything_one_of_each_killed_and_nothing_acknowledged_lost(
        stack: Stack) -> None:
    scale = [arg for service in APP_SERVICES for arg in ("--scale", f"{service}=2")]
    report(f"scaled to two of every app service, healthy in {stack.up(*scale):.0f} s")
    assert all(len(stack.containers(s)) == 2 for s in APP_SERVICES)
    for relay in RELAYS:  # one leads, the other waits
        assert len(await until(lambda r=relay: leaders(stack, r))) == 1, relay
    await rate_limits_hold_across_gateways(stack)

    gateways = stack.gateway_urls()
    acked, stop = Acknowledged(), asyncio.Event()
    async with Browser(gateways, patient=True) as writer, \
            Browser(gateways, patient=True) as browser:
        me = await sign_in(writer, stack.issuer)
        resume_id = str(uuid.uuid4())
        first = resume_document(title="Autosaved", bullets=["Save number 0"])
        assert (await writer.post(f"/api/resume/create/{resume_id}", json=first)).status_code \
            in (200, 201)
        acked.saves[(resume_id, 1)] = first
        started = time.monotonic()
        saving = asyncio.ensure_future(keep_saving(writer, acked, resume_id, stop))
        killed, _ = await asyncio.gather(kill_one_of_each(stack),
                                         whole_flow(browser, stack.issuer, Acknowledged()))
        await asyncio.sleep(2)
        stop.set()
        await saving
        report(f"flow green again while {len(killed)} containers were killed, one of each "
               f"service, in {time.monotonic() - started:.1f} s ({browser.retries} + "
               f"{writer.retries} requests retried)")

        outcomes = await nothing_acknowledged_is_lost(writer, acked)
        assert outcomes["failed"] == 0, outcomes
        report(f"nothing lost: {len(acked.saves)} acknowledged saves readable at their "
               f"versions, {len(acked.compiles)} accepted compiles all succeeded")

    for relay in RELAYS:  # the survivor took the lead
        survivor = [c for c in stack.containers(relay) if c != killed[relay]]
        assert survivor and await until(lambda s=survivor[0]: LEADER_LINE in stack.logs(s)), \
            relay
    restarted = [s for s in APP_SERVICES if killed[s] in stack.containers(s)]
    report(f"killed containers restarted by their policy: {len(restarted)} of {len(killed)}")

    # both compile HTTP instances up again: each serves every PDF, whichever worker made it
    report(f"two of everything again in {stack.up(*scale):.0f} s")
    assert len(stack.containers("compile")) == 2
    for job_id in acked.compiles:
        sizes = pdf_from_each_compile_instance(stack, me["id"], job_id)
        assert len(sizes) == 2 and len(set(sizes)) == 1 and sizes[0] > 1000, (job_id, sizes)
    report(f"the {len(acked.compiles)} PDFs served by each of the 2 compile HTTP instances")
