"""Every route answers what its OpenAPI documents, checked on the bytes it really sends.

Services answer with bytes they made themselves (stored JSON, OrjsonResponse), so FastAPI's
`response_model` is documentation that nothing checks on the way out. Here every route of
every service the gateway forwards to is called through the real app (real PostgreSQL, Redis,
RabbitMQ, pdflatex, the fake Gemini and OIDC issuer), each documented success answer is made
to happen, and every answer is held to its documented status and body:

- a 2xx JSON body validates against the route's schema in the app's own OpenAPI document,
  with no field the schema does not name (JSON Schema through `jsonschema`), and against the
  route's `response_model` (a pydantic TypeAdapter), the model the schema came from; a 2xx
  documented without content but sending JSON is held to the `response_model`;
- a 4xx body has the common error shape (`ErrorResponse`: `error.code`, `error.message`, and
  details beside them);
- 204 and 304 have no body, a redirect has a Location, a PDF is a PDF, a PNG is a PNG; a
  2xx of another documented media type (an export) has that type, text being UTF-8 and a
  DOCX a ZIP package.

The routes come from each app's OpenAPI document: a route without a case here fails, as does
a case for a route that is gone, a documented 2xx or 3xx no case made happen, and a route
whose errors no case exercised. A service the gateway forwards to without cases fails too.
"""

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter
from redis.asyncio import Redis

from ai_service.settings import AiSettings
from auth_service.app import create_app as create_auth
from auth_service.settings import AuthSettings
from compile_service.settings import CompileSettings
from gateway.settings import GatewaySettings
from live_service.settings import LiveSettings
from resume_service.app import create_app as create_resume
from resume_service.settings import ResumeSettings
from runtime.sessions import SessionStore
from tests import json_resume_package
from tests.conftest import REDIS_URL, asgi_client, identity_headers
from tests.fakes.oidc import FakeIssuer
from tests.integration.ai.conftest import ai_env, fake_gemini  # noqa: F401  (fixtures)
from tests.integration.auth.exports import run_export
from tests.integration.compile.conftest import compile_env  # noqa: F401  (a fixture)

Responses = list[httpx.Response]


@dataclass
class Service:
    """One service under test: its app (for the OpenAPI document and the routes' models)
    and an in-process client of it; `others` are clients of the services it needs."""

    app: FastAPI
    client: httpx.AsyncClient
    others: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def user(self) -> tuple[str, dict[str, str]]:
        user_id = f"user-{uuid.uuid4()}"
        return user_id, identity_headers(user_id)


Case = Callable[[Service], Awaitable[Responses]]
CASES: dict[str, dict[str, Case]] = {}


def case(service: str, route: str) -> Callable[[Case], Case]:
    """Register the case that calls `route` ("METHOD /path/{template}") of `service`."""
    def register(function: Case) -> Case:
        assert route not in CASES.setdefault(service, {}), f"two cases for {service} {route}"
        CASES[service][route] = function
        return function
    return register


# -- checking -------------------------------------------------------------------------------


def _closed(node: Any) -> Any:
    """The schema with every object that names its properties closed to any other."""
    if isinstance(node, dict):
        closed = {key: _closed(value) for key, value in node.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """The app's FastAPI routes, those of included routers too (FastAPI keeps an included
    router as one route holding the original router)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (included := getattr(route, "original_router", None)) is not None:
            found += api_routes(included.routes)
    return found


class Contract:
    """One app's documented answers, from its own OpenAPI document and routes."""

    def __init__(self, app: FastAPI) -> None:
        self.document = app.openapi()
        self.operations = {f"{method.upper()} {path}": operation
                           for path, operations in self.document["paths"].items()
                           for method, operation in operations.items()}
        self.models = {f"{method} {route.path_format}": route.response_model
                       for route in api_routes(app.router.routes) for method in route.methods}
        self.strict = _closed(self.document["components"])

    def check(self, route: str, response: httpx.Response) -> None:
        operation = self.operations[route]
        status = str(response.status_code)
        where = f"{route} answered {status}"
        assert status in operation["responses"], f"{where}, which it does not document: " \
                                                 f"{response.text[:300]}"
        documented = operation["responses"][status].get("content", {})
        if response.status_code in (204, 304):
            assert response.content == b"", f"{where} with a body"
        elif 300 <= response.status_code < 400:
            assert response.headers.get("location"), f"{where} without a Location"
        elif "application/pdf" in documented:
            assert response.headers["content-type"] == "application/pdf", where
            assert response.content.startswith(b"%PDF-"), f"{where}, not a PDF"
        elif "image/png" in documented:
            assert response.headers["content-type"] == "image/png", where
            assert response.content.startswith(b"\x89PNG\r\n\x1a\n"), f"{where}, not a PNG"
        elif response.status_code < 300 and _media_type(response) != "application/json":
            _check_file(where, documented, response)
        elif response.status_code < 300:
            self._check_success(route, where, documented, response)
        elif _media_type(response) == "text/html" and "text/html" in documented:
            _check_file(where, documented, response)  # a page for people (a share's form)
        else:
            assert response.headers["content-type"].startswith("application/json"), where
            schema = documented.get("application/json", {}).get("schema")
            assert schema, f"{where}, documented without the error shape"
            self._validate(schema, self.document["components"], response, where)

    def _check_success(self, route: str, where: str, documented: dict[str, Any],
                       response: httpx.Response) -> None:
        assert response.headers["content-type"].startswith("application/json"), where
        schema = documented.get("application/json", {}).get("schema")
        model = self.models.get(route)
        assert schema or model, f"{where} with JSON, documented with no content and no model"
        if schema:
            self._validate(schema, self.strict, response, where)
        if model is not None:
            try:
                TypeAdapter(model).validate_json(response.content)
            except ValueError as exc:
                pytest.fail(f"{where}, a body its response_model refuses: {exc}")

    @staticmethod
    def _validate(schema: dict[str, Any], components: dict[str, Any],
                  response: httpx.Response, where: str) -> None:
        validator = Draft202012Validator({**schema, "components": components},
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(orjson.loads(response.content)),
                        key=lambda e: list(e.absolute_path))
        assert not errors, f"{where}, a body its documented schema refuses: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
            for e in errors[:5])


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


def _check_file(where: str, documented: dict[str, Any], response: httpx.Response) -> None:
    """A 2xx that is not JSON: of a media type the route documents; text in UTF-8 (and
    saying so), an Office document a ZIP package."""
    media_type = _media_type(response)
    assert media_type in documented, f"{where} as {media_type}, which it does not document"
    if media_type.startswith("text/"):
        assert response.headers["content-type"].endswith("charset=utf-8"), where
        response.content.decode("utf-8")
    elif media_type.startswith("application/vnd.openxmlformats") or media_type == "application/zip":
        assert response.content.startswith(b"PK\x03\x04"), f"{where}, not a ZIP package"


def check_cases_cover(name: str, app: FastAPI) -> None:
    """Every route of the app has a case, and every case a route (checked before the app
    starts: the cases then run against it)."""
    contract = Contract(app)
    cases = CASES.get(name, {})
    assert set(contract.operations) <= set(contract.models), \
        f"{name}: routes whose model this test cannot find: " \
        f"{sorted(set(contract.operations) - set(contract.models))}"
    assert set(contract.operations) - set(cases) == set(), \
        f"{name} routes without a contract case: {sorted(set(contract.operations) - set(cases))}"
    assert set(cases) - set(contract.operations) == set(), \
        f"{name} contract cases for routes that are gone: " \
        f"{sorted(set(cases) - set(contract.operations))}"


async def check_every_route(name: str, service: Service) -> None:
    contract = Contract(service.app)
    for route, run in CASES[name].items():
        if route not in contract.operations:
            continue  # check_cases_cover says so
        responses = await run(service)
        for response in responses:
            contract.check(route, response)
        seen = {str(r.status_code) for r in responses}
        answers = {s for s in contract.operations[route]["responses"] if s[0] in "23"}
        assert answers <= seen, f"{name} {route}: no case answered {sorted(answers - seen)}"
        assert any(s[0] == "4" for s in seen), f"{name} {route}: no case exercised an error"


def test_every_service_the_gateway_forwards_to_has_contract_cases() -> None:
    services = set(GatewaySettings().upstreams)
    assert set(CASES) == services, f"services without cases: {services - set(CASES)}"


def test_every_route_has_a_case_and_every_case_a_route(
        service_env: dict[str, str], compile_env: dict[str, Any],  # noqa: F811
        ai_env: dict[str, Any]) -> None:  # noqa: F811
    from ai_service.app import create_app as create_ai
    from compile_service.app import create_app as create_compile
    from live_service.app import create_app as create_live
    apps = {"auth": create_auth(auth_settings(service_env, "http://127.0.0.1:9")),
            "resume": create_resume(ResumeSettings.model_validate(service_env)),
            "compile": create_compile(CompileSettings.model_validate(compile_env)),
            "ai": create_ai(AiSettings.model_validate(ai_env)),
            "live": create_live(LiveSettings.model_validate(service_env))}
    for name, app in apps.items():
        check_cases_cover(name, app)


# -- resume_service -------------------------------------------------------------------------

DOCUMENT = {"title": "Contract", "contact": {"name": "Ada", "email": "ada@example.com"},
            "sections": [{"title": "Experience", "kind": "experience", "items": [
                {"title": "Engineer", "subtitle": "Engines", "start_date": "1842",
                 "bullets": ["Wrote the first algorithm"]}]}]}
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
async def resume(service_env: dict[str, str]) -> AsyncIterator[Service]:
    app = create_resume(ResumeSettings.model_validate(service_env))
    async for client in asgi_client(app, base_url="http://resume"):
        yield Service(app, client)


async def a_resume(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post("/resume/create", json=DOCUMENT, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@case("resume", "GET /resume/all")
async def _list(s: Service) -> Responses:
    _, headers = s.user()
    empty = await s.client.get("/resume/all", headers=headers)
    await a_resume(s.client, headers)
    listed = [await s.client.get("/resume/all", headers=headers) for _ in range(2)]  # miss, hit
    return [empty, *listed, await s.client.get("/resume/all")]


@case("resume", "POST /resume/create")
async def _create(s: Service) -> Responses:
    _, headers = s.user()
    return [await s.client.post("/resume/create", json=DOCUMENT, headers=headers),
            await s.client.post("/resume/create", headers=headers),  # no body: an empty one
            await s.client.post("/resume/create", json={"title": ["no"]}, headers=headers),
            await s.client.post("/resume/create", json=DOCUMENT)]


@case("resume", "POST /resume/import")
async def _import(s: Service) -> Responses:
    _, headers = s.user()
    sample = json_resume_package.load("sample.resume.json")
    return [await s.client.post("/resume/import", json=sample, headers=headers),
            await s.client.post("/resume/import?format=native", json=sample, headers=headers),
            await s.client.post("/resume/import", json={"work": "no"}, headers=headers),
            await s.client.post("/resume/import", json=sample)]


@case("resume", "POST /resume/create/{resume_id}")
async def _create_with_id(s: Service) -> Responses:
    _, headers = s.user()
    _, other = s.user()
    url = f"/resume/create/{uuid.uuid4()}"
    return [await s.client.post(url, json=DOCUMENT, headers=headers),
            await s.client.post(url, json=DOCUMENT, headers=headers),  # again: 200
            await s.client.post(url, json=DOCUMENT, headers=other),  # another's id: 409
            await s.client.post("/resume/create/not-a-uuid", json=DOCUMENT, headers=headers)]


@case("resume", "GET /resume/{resume_id}")
async def _get(s: Service) -> Responses:
    _, headers = s.user()
    created = await a_resume(s.client, headers)
    url = f"/resume/{created['id']}"
    read = [await s.client.get(url, headers=headers) for _ in range(2)]  # a miss, then a hit
    return [*read, await s.client.get(f"/resume/{UNKNOWN}", headers=headers),
            await s.client.get(url)]


@case("resume", "PUT /resume/update/{resume_id}")
async def _update(s: Service) -> Responses:
    _, headers = s.user()
    created = await a_resume(s.client, headers)
    url = f"/resume/update/{created['id']}"
    return [await s.client.put(url, json=DOCUMENT, headers=headers),
            await s.client.put(url, json=DOCUMENT, headers={**headers, "If-Match": '"1"'}),
            await s.client.put(url, json=DOCUMENT, headers={**headers, "If-Match": "x"}),
            await s.client.put(f"/resume/update/{UNKNOWN}", json=DOCUMENT, headers=headers),
            await s.client.put(url, json={"sections": "none"}, headers=headers)]


@case("resume", "DELETE /resume/delete/{resume_id}")
async def _delete(s: Service) -> Responses:
    _, headers = s.user()
    created = await a_resume(s.client, headers)
    url = f"/resume/delete/{created['id']}"
    return [await s.client.delete(url, headers=headers),
            await s.client.delete(url, headers=headers)]  # gone: 404


@case("resume", "GET /resume/{resume_id}/history")
async def _history(s: Service) -> Responses:
    _, headers = s.user()
    created = await a_resume(s.client, headers)
    await s.client.put(f"/resume/update/{created['id']}", json={**DOCUMENT, "title": "Two"},
                       headers=headers)
    return [await s.client.get(f"/resume/{created['id']}/history", headers=headers),
            await s.client.get(f"/resume/{UNKNOWN}/history", headers=headers)]


@case("resume", "GET /resume/{resume_id}/versions/{version}")
async def _at_version(s: Service) -> Responses:
    _, headers = s.user()
    created = await a_resume(s.client, headers)
    base = f"/resume/{created['id']}/versions"
    return [await s.client.get(f"{base}/1", headers=headers),
            await s.client.get(f"{base}/9", headers=headers),  # no such version: 404
            await s.client.get(f"{base}/0", headers=headers)]  # not a version: 422


@case("resume", "POST /resume/{resume_id}/restore/{version}")
async def _restore(s: Service) -> Responses:
    _, headers = s.user()
    created = await a_resume(s.client, headers)
    await s.client.put(f"/resume/update/{created['id']}", json={**DOCUMENT, "title": "Two"},
                       headers=headers)
    return [await s.client.post(f"/resume/{created['id']}/restore/1", headers=headers),
            await s.client.post(f"/resume/{UNKNOWN}/restore/1", headers=headers)]


@case("resume", "GET /resume/{resume_id}/export/{format}")
async def _export(s: Service) -> Responses:
    _, headers = s.user()
    created = await a_resume(s.client, headers)
    base = f"/resume/{created['id']}/export"
    files = [await s.client.get(f"{base}/{name}", headers=headers)
             for name in ("native", "json-resume", "markdown", "text", "docx")]
    return [*files,
            await s.client.get(f"{base}/docx", params={"version": 1},
                               headers={**headers, "If-None-Match": files[-1].headers["etag"]}),
            await s.client.get(f"{base}/text", params={"version": 9}, headers=headers),
            await s.client.get(f"{base}/pdf", headers=headers),
            await s.client.get(f"/resume/{UNKNOWN}/export/text", headers=headers)]


FUTURE = (datetime.now(UTC) + timedelta(days=30)).isoformat()
BROWSER = {"User-Agent": "Mozilla/5.0 Firefox/140.0"}


async def a_share(s: Service, headers: dict[str, str], **body: Any) -> tuple[str, dict[str, Any]]:
    created = await a_resume(s.client, headers)
    response = await s.client.post(f"/resume/{created['id']}/shares", json=body,
                                   headers=headers)
    assert response.status_code == 201, response.text
    return created["id"], response.json()


@case("resume", "POST /resume/{resume_id}/shares")
async def _share(s: Service) -> Responses:
    _, headers = s.user()
    _, other = s.user()
    url = f"/resume/{(await a_resume(s.client, headers))['id']}/shares"
    body = {"version": 1, "password": "secret", "hidden": ["email"], "expires_at": FUTURE}
    return [await s.client.post(url, json=body, headers=headers),
            await s.client.post(url, json={"version": 9}, headers=headers),  # no such: 404
            await s.client.post(url, json={"hidden": ["ssn"]}, headers=headers),
            await s.client.post(url, json={}, headers=other),
            await s.client.post(url, json={})]


@case("resume", "GET /resume/{resume_id}/shares")
async def _shares(s: Service) -> Responses:
    _, headers = s.user()
    _, other = s.user()
    resume_id, link = await a_share(s, headers)
    await s.client.get(f"/public/{link['slug']}", headers=BROWSER)
    url = f"/resume/{resume_id}/shares"
    return [await s.client.get(url, headers=headers), await s.client.get(url, headers=other)]


@case("resume", "DELETE /resume/{resume_id}/shares/{share_id}")
async def _revoke(s: Service) -> Responses:
    _, headers = s.user()
    resume_id, link = await a_share(s, headers)
    url = f"/resume/{resume_id}/shares/{link['id']}"
    return [await s.client.delete(url, headers=headers),
            await s.client.delete(url, headers=headers),  # revoked already: 404
            await s.client.delete(f"/resume/{resume_id}/shares/x", headers=headers)]


@case("resume", "GET /resume/trash")
async def _trash(s: Service) -> Responses:
    _, headers = s.user()
    created = await a_resume(s.client, headers)
    await s.client.delete(f"/resume/delete/{created['id']}", headers=headers)
    return [await s.client.get("/resume/trash", headers=headers),
            await s.client.get("/resume/trash")]


@case("resume", "POST /resume/{resume_id}/undelete")
async def _undelete(s: Service) -> Responses:
    _, headers = s.user()
    created = await a_resume(s.client, headers)
    await s.client.delete(f"/resume/delete/{created['id']}", headers=headers)
    url = f"/resume/{created['id']}/undelete"
    return [await s.client.post(url, headers=headers),
            await s.client.post(url, headers=headers),  # live again: 409
            await s.client.post(f"/resume/{UNKNOWN}/undelete", headers=headers)]


@case("resume", "GET /public/{slug}")
async def _public(s: Service) -> Responses:
    _, headers = s.user()
    _, link = await a_share(s, headers, password="secret", expires_at=FUTURE)
    url = f"/public/{link['slug']}"
    answers = [await s.client.get(url, headers=BROWSER),  # no password: 401
               await s.client.get(url, headers={**BROWSER, "X-Share-Password": "secret"}),
               await s.client.get("/public/no-such-share", headers=BROWSER),
               await s.client.get("/public/x", headers=BROWSER)]
    service = s.app.state.service
    clock, service.clock = service.clock, lambda: datetime(3000, 1, 1, tzinfo=UTC)
    try:
        answers.append(await s.client.get(url, headers=BROWSER))  # expired: 410
    finally:
        service.clock = clock
    return answers


@case("resume", "GET /public/{slug}/page")
async def _public_page(s: Service) -> Responses:
    _, headers = s.user()
    _, link = await a_share(s, headers)
    _, locked = await a_share(s, headers, password="secret")
    return [await s.client.get(f"/public/{link['slug']}/page", headers=BROWSER),
            await s.client.get(f"/public/{locked['slug']}/page", headers=BROWSER),
            await s.client.get("/public/no-such-share/page", headers=BROWSER)]


@case("resume", "POST /public/{slug}/unlock")
async def _unlock(s: Service) -> Responses:
    _, headers = s.user()
    _, link = await a_share(s, headers, password="secret")
    url = f"/public/{link['slug']}/unlock"
    return [await s.client.post(url, data={"password": "secret"}),
            await s.client.post(url, data={"password": "wrong"}),
            await s.client.post(url),  # no password: 422
            await s.client.post("/public/no-such-share/unlock", data={"password": "x"})]


@case("resume", "GET /public/{slug}/pdf")
async def _public_pdf(s: Service) -> Responses:
    _, headers = s.user()
    _, link = await a_share(s, headers, template="compact")
    _, locked = await a_share(s, headers, password="secret")
    _, broken = await a_share(s, headers, template="no-such-template")
    url = f"/public/{link['slug']}/pdf"
    pdf = await served(s, url)
    return [pdf, await s.client.get(url, headers={**BROWSER, "If-None-Match": pdf.headers["etag"]}),
            await s.client.get(f"/public/{locked['slug']}/pdf", headers=BROWSER),
            await s.client.get(f"/public/{broken['slug']}/pdf", headers=BROWSER),
            await s.client.get("/public/no-such-share/pdf", headers=BROWSER),
            await without_compile(s, s.client.get(url, headers=BROWSER))]


@case("resume", "GET /public/{slug}/preview.png")
async def _public_preview(s: Service) -> Responses:
    _, headers = s.user()
    _, link = await a_share(s, headers, template="compact")
    url = f"/public/{link['slug']}/preview.png"
    png = await served(s, url)
    return [png, await s.client.get(url, headers={**BROWSER, "If-None-Match": png.headers["etag"]}),
            await s.client.get("/public/x/preview.png", headers=BROWSER),
            await s.client.get("/public/no-such-share/preview.png", headers=BROWSER),
            await without_compile(s, s.client.get(url, headers=BROWSER))]


async def served(s: Service, url: str) -> httpx.Response:
    """A share's file once compile_service has the resume (a 503 with Retry-After until its
    replica does: on a loaded machine that can take longer than the compile's own wait)."""
    for _ in range(30):
        response = await s.client.get(url, headers=BROWSER)
        if response.status_code != 503:
            return response
        await asyncio.sleep(1)
    return response


async def without_compile(s: Service, asked: Awaitable[httpx.Response]) -> httpx.Response:
    """The answer while compile_service cannot be reached."""
    files = s.app.state.share_files
    reachable, files.client = files.client, httpx.AsyncClient(base_url="http://127.0.0.1:9")
    try:
        return await asked
    finally:
        await files.client.aclose()
        files.client = reachable


async def test_every_resume_service_route_answers_as_documented(
        resume: Service, compile_service: Service) -> None:
    # a share's files come from compile_service: the one of the compile cases, in-process
    resume.app.state.share_files.client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=compile_service.app), base_url="http://compile")
    await check_every_route("resume", resume)


# -- auth_service ---------------------------------------------------------------------------


def auth_settings(service_env: dict[str, str], issuer_url: str,
                  issuer: FakeIssuer | None = None) -> AuthSettings:
    return AuthSettings(
        **service_env, oidc_server_metadata_url=f"{issuer_url}/.well-known/openid-configuration",
        oidc_client_id=issuer.client_id if issuer else "c",
        oidc_client_secret=issuer.client_secret if issuer else "s",
        oidc_redirect_uri="http://auth/auth/callback", cookie_secure=False)


@pytest.fixture(scope="module")
async def auth(service_env: dict[str, str]) -> AsyncIterator[Service]:
    issuer = await FakeIssuer().start()
    app = create_auth(auth_settings(service_env, issuer.url, issuer))
    try:
        async for client in asgi_client(app, base_url="http://auth"):
            async with httpx.AsyncClient() as browser:  # the browser's visit to the issuer
                yield Service(app, client, {"browser": browser})
    finally:
        await issuer.stop()


async def signed_in(s: Service) -> tuple[httpx.Response, str, str]:
    """A whole sign-in: the callback's answer, the user and the session it opened."""
    login = await s.client.get("/auth/login")
    assert login.status_code == 302, login.text
    at_issuer = await s.others["browser"].get(login.headers["location"])
    assert at_issuer.status_code == 302, at_issuer.text
    back = httpx.URL(at_issuer.headers["location"])
    callback = await s.client.get(back.raw_path.decode())
    session_id = callback.cookies.get("rb_session") or s.client.cookies["rb_session"]
    redis = Redis.from_url(REDIS_URL)
    try:
        user_id = await SessionStore(redis).resolve(session_id)
    finally:
        await redis.aclose()
    assert user_id, callback.text
    return callback, user_id, session_id


@case("auth", "GET /auth/login")
async def _login(s: Service) -> Responses:
    return [await s.client.get("/auth/login"),
            await s.client.get("/auth/login", params={"next": "https://elsewhere.example"}),
            await s.client.get("/auth/login", params={"next": "/" + "x" * 3000})]


@case("auth", "GET /auth/callback")
async def _callback(s: Service) -> Responses:
    callback, _, _ = await signed_in(s)
    return [callback, await s.client.get("/auth/callback", params={"code": "c", "state": "s"})]


@case("auth", "POST /auth/logout")
async def _logout(s: Service) -> Responses:
    _, user_id, session_id = await signed_in(s)
    return [await s.client.post("/auth/logout", headers=identity_headers(user_id, session_id)),
            await s.client.post("/auth/logout")]


@case("auth", "GET /user/me")
async def _me(s: Service) -> Responses:
    _, user_id, _ = await signed_in(s)
    return [await s.client.get("/user/me", headers=identity_headers(user_id)),
            await s.client.get("/user/me", headers=identity_headers(f"user-{uuid.uuid4()}")),
            await s.client.get("/user/me")]


async def finished_export(s: Service) -> tuple[str, str]:
    """A user and the export of theirs the worker's work just finished."""
    user_id, headers = s.user()
    started = await s.client.get("/user/me/export", headers=headers)
    assert started.status_code == 202, started.text
    with tempfile.TemporaryDirectory() as artifacts:
        await run_export(s.app.state.settings, started.json()["job_id"], Path(artifacts))
    return user_id, started.json()["job_id"]


@case("auth", "GET /user/me/export")
async def _export(s: Service) -> Responses:
    user_id, headers = s.user()
    new = await s.client.get("/user/me/export", headers=headers)
    user_id, _ = await finished_export(s)
    return [new, await s.client.get("/user/me/export", headers=identity_headers(user_id)),
            await s.client.get("/user/me/export")]


@case("auth", "GET /user/me/exports/{job_id}")
async def _export_status(s: Service) -> Responses:
    user_id, job_id = await finished_export(s)
    return [await s.client.get(f"/user/me/exports/{job_id}", params={"wait": 1},
                               headers=identity_headers(user_id)),
            await s.client.get(f"/user/me/exports/{job_id}", headers=s.user()[1]),
            await s.client.get("/user/me/exports/1", headers=identity_headers(user_id)),
            await s.client.get(f"/user/me/exports/{job_id}")]


@case("auth", "GET /user/me/exports/{job_id}/archive")
async def _export_archive(s: Service) -> Responses:
    user_id, headers = s.user()
    queued = (await s.client.get("/user/me/export", headers=headers)).json()["job_id"]
    owner, job_id = await finished_export(s)
    path = f"/user/me/exports/{job_id}/archive"
    answers = [await s.client.get(f"/user/me/exports/{queued}/archive", headers=headers),
               await s.client.get(path, headers=identity_headers(owner)),
               await s.client.get(path, headers=headers),
               await s.client.get("/user/me/exports/1/archive", headers=headers),
               await s.client.get(path)]
    await s.app.state.exports.archives.delete_owner(owner)
    return [*answers, await s.client.get(path, headers=identity_headers(owner))]


ERASURES: list[str] = []  # the erasure ids DELETE /user/me answered, for the progress route


@case("auth", "DELETE /user/me")
async def _erase_me(s: Service) -> Responses:
    _, user_id, session_id = await signed_in(s)
    as_them = identity_headers(user_id, session_id)
    refused = await s.client.request("DELETE", "/user/me", json={"confirm": "no"},
                                     headers=as_them)
    erased = await s.client.request("DELETE", "/user/me", json={"confirm": "erase my account"},
                                    headers=as_them)
    ERASURES.append(erased.json()["erasure_id"])
    return [refused, erased,
            await s.client.request("DELETE", "/user/me", json={"confirm": "erase my account"})]


@case("auth", "GET /auth/erasures/{erasure_id}")
async def _erasure(s: Service) -> Responses:
    if not ERASURES:
        await _erase_me(s)
    return [await s.client.get(f"/auth/erasures/{ERASURES[0]}"),
            await s.client.get(f"/auth/erasures/{uuid.uuid4()}"),
            await s.client.get(f"/auth/erasures/{'x' * 65}")]


async def test_every_auth_service_route_answers_as_documented(auth: Service) -> None:
    await check_every_route("auth", auth)


# -- compile_service ------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def compile_service(compile_env: dict[str, Any],  # noqa: F811
                          resume: Service) -> AsyncIterator[Service]:
    from compile_service.app import create_app
    from contracts.topology import COMPILE_RESUMES_CONSUMER as RESUMES_CONSUMER
    from tests.conftest import wait_for_queue
    app = create_app(CompileSettings.model_validate(compile_env))
    async for client in asgi_client(app, base_url="http://compile"):
        await wait_for_queue(RESUMES_CONSUMER)
        yield Service(app, client, {"resume": resume.client})


async def compiled(s: Service, headers: dict[str, str], **body: Any,
                   ) -> tuple[httpx.Response, dict[str, Any]]:
    """A compile request for a new resume, and the job once it finished."""
    created = await a_resume(s.others["resume"], headers)
    requested = await s.client.post(f"/compile/{created['id']}", json=body, headers=headers)
    assert requested.status_code == 202, requested.text
    done = await s.client.get(f"/compile/status/{requested.json()['job_id']}",
                              params={"wait": 30}, headers=headers)
    assert done.json()["status"] == "succeeded", done.text
    return requested, done.json()


@case("compile", "GET /compile/templates")
async def _templates(s: Service) -> Responses:
    _, headers = s.user()
    return [await s.client.get("/compile/templates", headers=headers),
            await s.client.get("/compile/templates")]


@case("compile", "GET /compile/templates/{name}/thumbnail.png")
async def _thumbnail(s: Service) -> Responses:
    _, headers = s.user()
    url = "/compile/templates/compact/thumbnail.png"
    png = await s.client.get(url, headers=headers)
    broken = await s.client.get("/compile/templates/broken/thumbnail.png", headers=headers)
    assert broken.status_code == 503, broken.text
    return [png, await s.client.get(url, headers={**headers, "If-None-Match": png.headers["etag"]}),
            broken, await s.client.get("/compile/templates/none/thumbnail.png", headers=headers),
            await s.client.get("/compile/templates/Bad!/thumbnail.png", headers=headers),
            await s.client.get(url)]


@case("compile", "POST /compile/{resume_id}")
async def _compile(s: Service) -> Responses:
    _, headers = s.user()
    requested, _ = await compiled(s, headers)
    created = await a_resume(s.others["resume"], headers)
    bad_options = await s.client.post(f"/compile/{created['id']}", headers=headers, json={
        "template": "compact", "options": {"paper": "a3"}})
    assert bad_options.json()["error"]["code"] == "invalid_options", bad_options.text
    return [requested, bad_options,
            await s.client.post(f"/compile/{UNKNOWN}", json={}, headers=headers),
            await s.client.post(f"/compile/{UNKNOWN}", json={"template": 7}, headers=headers)]


@case("compile", "GET /compile/status/{job_id}")
async def _status(s: Service) -> Responses:
    _, headers = s.user()
    requested, _ = await compiled(s, headers)
    url = f"/compile/status/{requested.json()['job_id']}"
    # a template meant for one page, with options: `options`, `pages`, `overflow`, `ats`
    one_page, _ = await compiled(s, headers, template="compact", options={"paper": "letter"})
    one_page_url = f"/compile/status/{one_page.json()['job_id']}"
    return [await s.client.get(url, headers=headers),
            await s.client.get(one_page_url, headers=headers),
            await s.client.get(url, params={"wait": 1}, headers=headers),
            await s.client.get(f"/compile/status/{UNKNOWN}", headers=headers),
            await s.client.get("/compile/status/not-a-uuid", headers=headers)]


@case("compile", "GET /compile/pdf/{job_id}")
async def _pdf(s: Service) -> Responses:
    _, headers = s.user()
    _, job = await compiled(s, headers)
    url = f"/compile/pdf/{job['job_id']}"
    pdf = await s.client.get(url, headers=headers)
    return [pdf, await s.client.get(url, headers={**headers, "If-None-Match": pdf.headers["etag"]}),
            await s.client.get(f"/compile/pdf/{UNKNOWN}", headers=headers)]


@case("compile", "POST /compile/cancel/{job_id}")
async def _cancel(s: Service) -> Responses:
    _, headers = s.user()
    created = await a_resume(s.others["resume"], headers)
    # the test templates' TeX loop never finishes on its own within the test
    looping = await s.client.post(f"/compile/{created['id']}", json={"template": "loop"},
                                  headers=headers)
    assert looping.status_code == 202, looping.text
    cancelled = await s.client.post(f"/compile/cancel/{looping.json()['job_id']}",
                                    headers=headers)
    assert cancelled.json()["error_code"] == "cancelled", cancelled.text
    _, done = await compiled(s, headers)
    finished = await s.client.post(f"/compile/cancel/{done['job_id']}", headers=headers)
    assert finished.json()["error"]["code"] == "job_finished", finished.text
    return [cancelled, finished,
            await s.client.post(f"/compile/cancel/{UNKNOWN}", headers=headers),
            await s.client.post("/compile/cancel/not-a-uuid", headers=headers)]


@case("compile", "GET /compile/preview/{job_id}")
async def _preview(s: Service) -> Responses:
    _, headers = s.user()
    _, job = await compiled(s, headers)
    url = f"/compile/preview/{job['job_id']}"
    png = await s.client.get(url, headers=headers)
    created = await a_resume(s.others["resume"], headers)
    failed = await s.client.post(f"/compile/{created['id']}", json={"template": "broken"},
                                 headers=headers)
    done = await s.client.get(f"/compile/status/{failed.json()['job_id']}",
                              params={"wait": 30}, headers=headers)
    assert done.json()["status"] == "failed", done.text
    not_ready = await s.client.get(f"/compile/preview/{failed.json()['job_id']}",
                                   headers=headers)
    assert not_ready.status_code == 409, not_ready.text
    return [png, await s.client.get(url, headers={**headers, "If-None-Match": png.headers["etag"]}),
            not_ready, await s.client.get(f"/compile/preview/{UNKNOWN}", headers=headers),
            await s.client.get("/compile/preview/not-a-uuid", headers=headers)]


async def test_every_compile_service_route_answers_as_documented(
        compile_service: Service) -> None:
    await check_every_route("compile", compile_service)


# -- ai_service -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def ai(ai_env: dict[str, Any], resume: Service) -> AsyncIterator[Service]:  # noqa: F811
    from ai_service.app import create_app
    from contracts.topology import AI_RESUMES_CONSUMER as RESUMES_CONSUMER
    from tests.conftest import wait_for_queue
    app = create_app(AiSettings.model_validate(ai_env))
    async for client in asgi_client(app, base_url="http://ai"):
        await wait_for_queue(RESUMES_CONSUMER)
        yield Service(app, client, {"resume": resume.client})


async def rated(s: Service, headers: dict[str, str]) -> tuple[str, httpx.Response,
                                                              httpx.Response]:
    """A new resume rated: its id, the request's 202 and the finished job."""
    created = await a_resume(s.others["resume"], headers)
    requested = await s.client.post(f"/ai/rate/{created['id']}", json={}, headers=headers)
    assert requested.status_code == 202, requested.text
    done = await s.client.get(f"/ai/ratings/{requested.json()['job_id']}",
                              params={"wait": 15}, headers=headers)
    assert done.json()["status"] == "succeeded", done.text
    return created["id"], requested, done


@case("ai", "POST /ai/rate/{resume_id}")
async def _rate(s: Service) -> Responses:
    _, headers = s.user()
    resume_id, requested, _ = await rated(s, headers)
    again = await s.client.post(f"/ai/rate/{resume_id}", json={}, headers=headers)  # 200
    return [requested, again,
            await s.client.post(f"/ai/rate/{UNKNOWN}", json={}, headers=headers),
            await s.client.post(f"/ai/rate/{resume_id}", json={"version": "x"}, headers=headers)]


@case("ai", "GET /ai/rate/{resume_id}")
async def _latest(s: Service) -> Responses:
    _, headers = s.user()
    resume_id, _, _ = await rated(s, headers)
    unrated = await a_resume(s.others["resume"], headers)
    return [await s.client.get(f"/ai/rate/{resume_id}", headers=headers),
            await s.client.get(f"/ai/rate/{unrated['id']}", headers=headers),
            await s.client.get(f"/ai/rate/{resume_id}")]


@case("ai", "GET /ai/ratings/{job_id}")
async def _job(s: Service) -> Responses:
    _, headers = s.user()
    _, requested, done = await rated(s, headers)
    return [done, await s.client.get(f"/ai/ratings/{requested.json()['job_id']}",
                                     headers=headers),
            await s.client.get(f"/ai/ratings/{UNKNOWN}", headers=headers),
            await s.client.get("/ai/ratings/not-a-uuid", headers=headers)]


async def imported(s: Service, headers: dict[str, str]) -> tuple[httpx.Response,
                                                                  httpx.Response]:
    """A DOCX of the engineer sample imported: the request's 202 and the finished job."""
    from tests.integration.ai.resume_files import docx_of
    from tests.samples import engineer
    requested = await s.client.post("/ai/import", files={"file": ("cv.docx",
                                                                   docx_of(engineer()))},
                                    headers=headers)
    assert requested.status_code == 202, requested.text
    done = await s.client.get(f"/ai/imports/{requested.json()['job_id']}",
                              params={"wait": 15}, headers=headers)
    assert done.json()["status"] == "succeeded", done.text
    return requested, done


@case("ai", "POST /ai/import")
async def _import(s: Service) -> Responses:
    _, headers = s.user()
    requested, _ = await imported(s, headers)
    from tests.integration.ai.resume_files import docx_of
    from tests.samples import engineer
    again = await s.client.post("/ai/import", files={"file": ("cv.docx", docx_of(engineer()))},
                                headers=headers)  # 200: the same file
    return [requested, again,
            await s.client.post("/ai/import", files={"file": ("cv.pdf", b"plain text")},
                                headers=headers),
            await s.client.post("/ai/import", data={"x": "y"}, headers=headers)]


@case("ai", "GET /ai/imports/{job_id}")
async def _import_job(s: Service) -> Responses:
    _, headers = s.user()
    requested, done = await imported(s, headers)
    return [done, await s.client.get(f"/ai/imports/{UNKNOWN}", headers=headers),
            await s.client.get("/ai/imports/not-a-uuid", headers=headers)]


async def test_every_ai_service_route_answers_as_documented(ai: Service) -> None:
    await check_every_route("ai", ai)


# -- live_service ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
async def live(service_env: dict[str, str]) -> AsyncIterator[Service]:
    from live_service.app import create_app
    app = create_app(LiveSettings.model_validate(service_env))
    async for client in asgi_client(app, base_url="http://live"):
        yield Service(app, client)


async def first_frames(app: FastAPI, user_id: str, target: bytes) -> httpx.Response:
    """A stream that never ends, as far as its first chunk: the client leaves after it (the
    in-process transport would wait for the end of the body)."""
    from runtime.identity import IDENTITY_HEADER
    from tests.conftest import token_for
    sent: list[Any] = []
    first_chunk = asyncio.Event()
    path, _, query = target.partition(b"?")
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path.decode(), "raw_path": path, "query_string": query, "root_path": "",
             "headers": [(IDENTITY_HEADER.lower().encode(),
                          token_for("live", "GET", target, user_id).encode())],
             "client": ("127.0.0.1", 1), "server": ("live", 80)}
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await first_chunk.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_chunk.set()

    async with asyncio.timeout(10):
        await app(scope, receive, send)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return httpx.Response(start["status"], headers=[(k.decode(), v.decode())
                                                    for k, v in start["headers"]], content=body)


@case("live", "GET /events")
async def _events(s: Service) -> Responses:
    user_id, headers = s.user()
    fresh = await first_frames(s.app, user_id, b"/events")
    assert fresh.content.startswith(b"retry: ")
    resumed = await first_frames(s.app, user_id, b"/events?last_event_id=0-0")
    return [fresh, resumed, await s.client.get("/events"),
            await s.client.get("/events", headers={**headers, "Last-Event-ID": "x"})]


async def test_every_live_service_route_answers_as_documented(live: Service) -> None:
    await check_every_route("live", live)
