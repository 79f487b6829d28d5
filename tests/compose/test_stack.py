"""deploy/compose.yaml run for real (make test-compose): the whole flow through the stack's
gateway; then two of every app service, the flow again while one container of each is
killed, and nothing the stack acknowledged lost."""

import asyncio
import json
import time
import uuid

import pytest

from tests.compose.conftest import APP_SERVICES, LEADER_LINE, RELAYS, Stack, docker, report
from tests.compose.flow import (
    Acknowledged,
    Browser,
    compile_job,
    finished,
    nothing_acknowledged_is_lost,
    save,
    sign_in,
    whole_flow,
)
from tests.integration.compile.conftest import resume_document

RATE_LIMIT_PER_SESSION = 150  # compose.test.yaml's


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


FETCH_FROM_EACH = """
import json, os, sys, urllib.request
from runtime.identity import IdentitySigner
user, jobs, addresses = json.loads(sys.argv[1])
signer = IdentitySigner(os.environ["IDENTITY_SIGNING_KEY"])
sizes = {}
for job in jobs:
    path = f"/compile/pdf/{job}"
    for address in addresses:
        token = signer.sign(user, "compile", "GET", path.encode(), None).decode()
        request = urllib.request.Request(f"http://{address}:8000{path}",
                                         headers={"X-Internal-Identity": token})
        sizes.setdefault(job, []).append(len(urllib.request.urlopen(request, timeout=10).read()))
print(json.dumps(sizes))
"""


def pdf_from_each_compile_instance(stack: Stack, user_id: str,
                                   job_ids: list[str]) -> dict[str, list[int]]:
    """Each job's PDF asked of every compile HTTP container directly (from a gateway
    container, which signs the identity as it does for every request): its sizes."""
    addresses = [stack.address(c) for c in stack.containers("compile")]
    argument = json.dumps([user_id, job_ids, addresses])
    fetched = docker("exec", stack.containers("gateway")[0], "python", "-c", FETCH_FROM_EACH,
                     argument)
    return json.loads(fetched)  # type: ignore[no-any-return]


async def pdfs_of_either_worker_served_by_every_compile_instance(stack: Stack) -> None:
    """Four compiles of distinct content (the two workers share the queue), each PDF then
    asked of both compile HTTP containers directly."""
    async with Browser(stack.gateway_urls()) as owner:
        me = await sign_in(owner, stack.issuer)
        acked = Acknowledged()
        resume_id = str(uuid.uuid4())
        created = await owner.post(f"/api/resume/create/{resume_id}",
                                   json=resume_document(title="Four PDFs"))
        assert created.status_code == 201, created.text
        jobs = [await compile_job(owner, acked, resume_id, 1, template)
                for template in ("classic", "modern", "standard", "compact")]
        for job_id in jobs:
            assert (await finished(owner, f"/api/compile/status/{job_id}"))["status"] == \
                "succeeded", job_id
    fetched = pdf_from_each_compile_instance(stack, me["id"], jobs)
    assert set(fetched) == set(jobs)
    for job_id, sizes in fetched.items():
        assert len(sizes) == 2 and len(set(sizes)) == 1 and sizes[0] > 1000, (job_id, sizes)
    report(f"{len(jobs)} PDFs served by each of the 2 compile HTTP instances")


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
    await pdfs_of_either_worker_served_by_every_compile_instance(stack)

    gateways = stack.gateway_urls()
    acked, stop = Acknowledged(), asyncio.Event()
    async with Browser(gateways, patient=True) as writer, \
            Browser(gateways, patient=True) as browser:
        await sign_in(writer, stack.issuer)
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
        # every job finished; one may fail only as a compile does (TeX's time limit on a
        # starved machine), never because the stack gave up on it
        assert all(f["error_code"] == "compile_failed" for f in outcomes["failures"]), outcomes
        report(f"nothing lost: {len(acked.saves)} acknowledged saves readable at their "
               f"versions, {len(acked.compiles)} accepted compiles all finished "
               f"({outcomes['succeeded']} succeeded, their PDFs served; failed: "
               f"{outcomes['failures'] or 'none'})")

    for relay in RELAYS:  # the survivor took the lead
        survivor = [c for c in stack.containers(relay) if c != killed[relay]]
        assert survivor and await until(lambda s=survivor[0]: LEADER_LINE in stack.logs(s)), \
            relay
    restarted = [s for s in APP_SERVICES if killed[s] in stack.containers(s)]
    report(f"killed containers restarted by their policy: {len(restarted)} of {len(killed)}")
