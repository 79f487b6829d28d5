"""What a browser does through the compose stack's gateways: sign in, write, compile with
LaTeX and Typst, rate, share, export, sign out. A `Browser` spreads its requests over every
gateway (one session for all of them) and, when patient, retries what a killed container
answers (502/503/504, a connection refused or reset) as a browser's retry would."""

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.fakes.gemini import GOOD_RATING
from tests.fakes.oidc import FakeIssuer
from tests.integration.compile.conftest import pdftotext, resume_document

RETRIED = {502, 503, 504}
PATIENCE_SECONDS = 120.0
TERMINAL = ("succeeded", "failed")


@dataclass
class Browser:
    gateways: list[str]
    patient: bool = False
    retries: int = 0
    _turn: int = 0
    client: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        origin = self.gateways[0]
        self.client = httpx.AsyncClient(timeout=40, headers={"Origin": origin},
                                        event_hooks={"response": [self._plain_http_cookies]})

    async def _plain_http_cookies(self, _: httpx.Response) -> None:
        """The stack runs as in production: its cookies are Secure (`__Host-`). Here the
        gateway is reached over plain HTTP on loopback, where a browser would have TLS in
        front, so they are kept as plain ones (httpx copies the jar into one of the default
        policy per request: a policy of our own would not last)."""
        for cookie in self.client.cookies.jar:
            cookie.secure = False

    async def __aenter__(self) -> "Browser":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.client.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """`path` through the next gateway; when patient, again (through the next) on what a
        killed container answers, until PATIENCE_SECONDS."""
        deadline = time.monotonic() + (PATIENCE_SECONDS if self.patient else 0)
        while True:
            gateway = self.gateways[self._turn % len(self.gateways)]
            self._turn += 1
            try:
                response = await self.client.request(method, gateway + path, **kwargs)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            else:
                if response.status_code not in RETRIED or time.monotonic() > deadline:
                    return response
            self.retries += 1
            await asyncio.sleep(0.5)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)


@dataclass
class Acknowledged:
    """What the stack said it had done: saves (resume, version -> document) and accepted
    compile jobs (job id -> resume id)."""
    saves: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    compiles: dict[str, str] = field(default_factory=dict)


async def sign_in(browser: Browser, issuer: FakeIssuer) -> dict[str, Any]:
    subject = f"compose-{uuid.uuid4().hex}"
    issuer.sign_in_as(subject, email=f"{subject}@example.com", name="Ada Lovelace")
    login = await browser.get("/api/auth/login")
    assert login.status_code == 302, login.text
    at_issuer = await browser.client.get(login.headers["location"])
    assert at_issuer.status_code == 302, at_issuer.text
    callback = urlsplit(at_issuer.headers["location"])
    assert callback.path == "/api/auth/callback", callback
    signed_in = await browser.get(f"{callback.path}?{callback.query}")
    assert signed_in.status_code == 303, signed_in.text
    me = await browser.get("/api/user/me")
    assert me.status_code == 200, me.text
    assert me.json()["email"] == f"{subject}@example.com"
    return me.json()  # type: ignore[no-any-return]


async def save(browser: Browser, acked: Acknowledged, resume_id: str, version: int,
               document: dict[str, Any]) -> int:
    """PUT version `version` + 1; returns the version the resume is at afterwards. A 409
    after a retry is this very update having been applied before its answer was lost."""
    response = await browser.put(f"/api/resume/update/{resume_id}",
                                 json={**document, "version": version})
    if response.status_code == 200:
        saved: int = response.json()["version"]
        acked.saves[(resume_id, saved)] = document
        return saved
    assert response.status_code == 409 and browser.patient, response.text
    current: int = response.json()["error"]["current_version"]
    return current


async def compile_job(browser: Browser, acked: Acknowledged, resume_id: str, version: int,
                      template: str) -> str:
    response = await browser.post(f"/api/compile/{resume_id}",
                                  json={"version": version, "template": template})
    assert response.status_code in (200, 202), response.text
    job_id: str = response.json()["job_id"]
    acked.compiles[job_id] = resume_id
    return job_id


async def finished(browser: Browser, path: str, timeout: float = 120.0) -> dict[str, Any]:
    """GET `path` (long polls) until the job is succeeded or failed."""
    deadline = time.monotonic() + timeout
    while True:
        response = await browser.get(path, params={"wait": 10})
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["status"] in TERMINAL or time.monotonic() > deadline:
            return job


async def the_pdf_says(browser: Browser, job: dict[str, Any], *words: str) -> None:
    assert job["status"] == "succeeded", job
    pdf = await browser.get(job["pdf_url"])
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(pdftotext(pdf.content).split())
    for word in words:
        assert word in text, (word, text[:300])


async def whole_flow(browser: Browser, issuer: FakeIssuer, acked: Acknowledged) -> None:
    """Sign in, create, update, history, compile (LaTeX and Typst), rate, share, export,
    sign out; what the stack acknowledged is added to `acked`."""
    await sign_in(browser, issuer)
    marker = f"Marker{uuid.uuid4().hex[:10]}"
    resume_id = str(uuid.uuid4())  # a client id: a retried create is the same create
    first = resume_document(title=f"Ada {marker}", bullets=["Wrote the first algorithm"])
    created = await browser.post(f"/api/resume/create/{resume_id}", json=first)
    assert created.status_code in (200, 201), created.text
    acked.saves[(resume_id, 1)] = first
    second = resume_document(title=f"Ada {marker}", bullets=[f"Computed Bernoulli {marker}"])
    assert await save(browser, acked, resume_id, 1, second) == 2

    history = await browser.get(f"/api/resume/{resume_id}/history")
    assert history.status_code == 200, history.text
    assert [(e["version"], e["event_type"]) for e in history.json()] == [
        (1, "ResumeCreated"), (2, "ResumeUpdated")]

    latex = await compile_job(browser, acked, resume_id, 2, "classic")
    typst = await compile_job(browser, acked, resume_id, 2, "standard")
    for job_id in (latex, typst):
        job = await finished(browser, f"/api/compile/status/{job_id}")
        await the_pdf_says(browser, job, "Ada Lovelace", f"Computed Bernoulli {marker}")

    rated = await browser.post(f"/api/ai/rate/{resume_id}", json={"version": 2})
    assert rated.status_code in (200, 202), rated.text
    rating = rated.json()
    if rated.status_code == 202:
        rating = await finished(browser, rated.headers["location"])
    assert rating["status"] == "succeeded", rating
    assert rating["rating"]["overall_score"] == GOOD_RATING["overall_score"]

    shared = await browser.post(f"/api/resume/{resume_id}/shares", json={})
    assert shared.status_code == 201, shared.text
    async with Browser(browser.gateways, patient=browser.patient) as anonymous:
        public = await anonymous.get(f"/api/public/{shared.json()['slug']}")
    assert public.status_code == 200, public.text
    assert marker in public.text

    exported = await browser.get(f"/api/resume/{resume_id}/export/json-resume")
    assert exported.status_code == 200, exported.text
    assert exported.json()["basics"]["name"] == "Ada Lovelace"
    markdown = await browser.get(f"/api/resume/{resume_id}/export/markdown")
    assert markdown.status_code == 200 and f"Computed Bernoulli {marker}" in markdown.text

    signed_out = await browser.post("/api/auth/logout")
    assert signed_out.status_code == 204, signed_out.text
    after = await browser.get("/api/user/me")
    assert after.status_code == 401, after.text


async def nothing_acknowledged_is_lost(browser: Browser,
                                       acked: Acknowledged) -> dict[str, Any]:
    """Every acknowledged save readable at its version, as saved; every accepted compile job
    finished (and its PDF served when it succeeded). `browser` is signed in as their owner."""
    for (resume_id, version), document in acked.saves.items():
        stored = await browser.get(f"/api/resume/{resume_id}/versions/{version}")
        assert stored.status_code == 200, (resume_id, version, stored.text)
        bullets = stored.json()["document"]["sections"][0]["items"][0]["bullets"]
        assert bullets == document["sections"][0]["items"][0]["bullets"], (resume_id, version)
    outcomes: dict[str, Any] = {"succeeded": 0, "failed": 0, "failures": []}
    for job_id in acked.compiles:
        job = await finished(browser, f"/api/compile/status/{job_id}")
        assert job["status"] in TERMINAL, job
        outcomes[job["status"]] += 1
        if job["status"] == "failed":
            outcomes["failures"].append({key: job.get(key) for key in (
                "job_id", "error_code", "error", "attempts", "template")})
        if job["status"] == "succeeded":
            pdf = await browser.get(job["pdf_url"])
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text
    return outcomes
