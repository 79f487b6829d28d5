"""The merged OpenAPI document: the services' paths under /api, plus what the gateway itself
answers on each of them (gateway.openapi)."""

from typing import Any

from fastapi import FastAPI

from gateway.openapi import GATEWAY_ANSWERS, merge
from runtime.http import error_responses

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


def _service_spec() -> dict[str, Any]:
    """A service's document as FastAPI writes it, with the shared error shape."""
    app = FastAPI()

    @app.get("/auth/login", status_code=302, responses=error_responses(400, 503))
    async def login() -> None: ...

    @app.post("/auth/logout", status_code=204, responses=error_responses(401))
    async def logout() -> None: ...

    @app.post("/ai/rate/{resume_id}", status_code=202, responses=error_responses(404, 429))
    async def rate(resume_id: str) -> dict[str, str]:
        return {}

    @app.get("/ai/rate/{resume_id}")
    async def rating(resume_id: str) -> dict[str, str]:
        return {}

    return app.openapi()


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method.upper(), path): operation for path, item in spec["paths"].items()
            for method, operation in item.items()}


def test_every_operation_lists_the_gateways_own_answers_in_the_shared_error_shape() -> None:
    service = _service_spec()
    merged = merge({"auth": service, "ai": None})
    operations = _operations(merged)
    assert set(operations) == {("GET", "/api/auth/login"), ("POST", "/api/auth/logout"),
                               ("POST", "/api/ai/rate/{resume_id}"),
                               ("GET", "/api/ai/rate/{resume_id}")}
    for (method, path), operation in operations.items():
        expected = set(GATEWAY_ANSWERS)
        if path == "/api/auth/login":
            expected.discard("401")  # a sign-in route: no session needed
        if method == "GET":
            expected.discard("403")  # the cross-site rule is for unsafe methods
        assert expected <= set(operation["responses"]), (method, path)
        assert "401" in operation["responses"] or path == "/api/auth/login"
        for status in expected:
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == ERROR_REF, (method, path, status)
    assert "401" not in operations[("GET", "/api/auth/login")]["responses"]
    assert operations[("GET", "/api/auth/login")]["security"] == []  # no session needed
    assert "security" not in operations[("POST", "/api/auth/logout")]  # the document's own
    assert merged["security"] == [{"session": []}]
    assert "403" not in operations[("GET", "/api/ai/rate/{resume_id}")]["responses"]
    assert "403" in operations[("POST", "/api/ai/rate/{resume_id}")]["responses"]
    assert merged["components"]["schemas"]["ErrorResponse"] == (
        service["components"]["schemas"]["ErrorResponse"])
    assert merged["x-unavailable-services"] == ["ai"]


def test_what_a_service_documents_stays_and_retry_after_is_documented_on_429_and_503() -> None:
    service = _service_spec()
    merged = merge({"auth": service})
    operations = _operations(merged)
    own = _operations(service)
    for key, operation in operations.items():
        ours = own[(key[0], key[1].removeprefix("/api"))]["responses"]
        for status, response in ours.items():  # kept as the service wrote it, header aside
            kept = {k: v for k, v in operation["responses"][status].items() if k != "headers"}
            assert kept == response, (key, status)
        for status, required in (("429", True), ("503", False)):
            header = operation["responses"][status]["headers"]["Retry-After"]
            assert header["required"] is required
            assert header["schema"] == {"type": "integer", "minimum": 0}
    # the service's own 429, 400 and 503 keep their descriptions; no second entry appears
    rate = operations[("POST", "/api/ai/rate/{resume_id}")]["responses"]
    assert rate["429"]["description"] == "Too Many Requests"
    login = operations[("GET", "/api/auth/login")]["responses"]
    assert login["400"]["description"] == "Bad Request"
    assert login["503"]["description"] == "Service Unavailable"
    assert sorted(login) == sorted({"302", *GATEWAY_ANSWERS} - {"401", "403"})
    # the input is not changed
    assert "Retry-After" not in str(service)


def test_the_error_shape_is_there_when_no_service_answers() -> None:
    merged = merge({"auth": None, "resume": None})
    assert merged["paths"] == {}
    schemas = merged["components"]["schemas"]
    assert schemas["ErrorResponse"]["properties"]["error"] == {
        "$ref": "#/components/schemas/ErrorBody"}
    assert set(schemas["ErrorBody"]["required"]) == {"code", "message"}


def test_the_session_scheme_names_the_cookie_the_gateway_reads() -> None:
    assert merge({})["components"]["securitySchemes"]["session"]["name"] == "rb_session"
    secure = merge({}, "__Host-rb_session")["components"]["securitySchemes"]["session"]
    assert secure == {"type": "apiKey", "in": "cookie", "name": "__Host-rb_session"}
