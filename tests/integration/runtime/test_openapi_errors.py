"""Every route documents every status it can answer: 503 (its database, cache or broker
down), 422 where it takes input, 413 where it takes a body, all in the one error shape.
A new route (or router) without them fails here."""

from typing import Any

import pytest
from fastapi import FastAPI

from ai_service.app import create_app as create_ai_app
from ai_service.settings import AiSettings
from auth_service.app import create_app as create_auth_app
from auth_service.settings import AuthSettings
from compile_service.app import create_app as create_compile_app
from compile_service.settings import CompileSettings
from resume_service.app import create_app as create_resume_app
from resume_service.settings import ResumeSettings

ERROR_SCHEMA = "#/components/schemas/ErrorResponse"


def service_apps(env: dict[str, str]) -> dict[str, FastAPI]:
    return {
        "auth": create_auth_app(AuthSettings(**env, dev_login_enabled=True,
                                             cookie_secure=False)),
        "resume": create_resume_app(ResumeSettings.model_validate(env)),
        "compile": create_compile_app(CompileSettings.model_validate(env)),
        "ai": create_ai_app(AiSettings.model_validate(env)),
    }


def operations(app: FastAPI) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{method.upper()} {path}", operation)
            for path, item in app.openapi()["paths"].items()
            for method, operation in item.items()]


def expected_errors(operation: dict[str, Any]) -> set[str]:
    expected = {"503"}
    if operation.get("parameters") or "requestBody" in operation:
        expected.add("422")
    if "requestBody" in operation:
        expected.add("413")
    return expected


@pytest.mark.parametrize("service", ["auth", "resume", "compile", "ai"])
def test_every_operation_documents_its_errors(service_env: dict[str, str],
                                              service: str) -> None:
    app = service_apps(service_env)[service]
    found = operations(app)
    assert found, f"{service} documents no operation"
    for name, operation in found:
        responses = operation["responses"]
        missing = expected_errors(operation) - set(responses)
        assert not missing, f"{service}: {name} does not document {sorted(missing)}"
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                if set(response["content"]) == {"text/html"} and " /public/" in name:
                    continue  # a share's password form: a page for people, not an error body
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_SCHEMA}, f"{service}: {name} {status}"
