"""The AsyncAPI document: a valid AsyncAPI 3.0 shape, every event in `contracts` with its
payload schema, producer and consumers, consumers equal to those the services build, the
gateway serving it, and the committed docs/asyncapi.json up to date."""

from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from ai_service.settings import AiSettings
from ai_service.worker import consumers as ai_consumers
from auth_service.erasure import completions_consumer
from auth_service.settings import AuthSettings
from compile_service.erasure import compile_erasure_consumer
from compile_service.settings import CompileSettings
from compile_service.worker import jobs_consumer
from compile_service.worker import resumes_consumer as compile_resumes_consumer
from contracts.generate import event_models
from live_service.erasure import live_erasure_consumer
from live_service.worker import feed_consumer
from ops.export_worker import exports_consumer
from resume_service.erasure import resume_erasure_consumer
from resume_service.worker import imported_resumes_consumer, signed_out_consumer
from runtime import asyncapi
from runtime.bus import Consumer
from tests.integration.observability.conftest import ObservedStack


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi.document()


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def event_channels(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["x-event-type"]: c for c in doc["channels"].values() if "x-event-type" in c}


def test_the_document_has_the_asyncapi_3_shape_and_every_reference_resolves(
        document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert document["servers"] and all(s["protocol"] == "amqp"
                                       for s in document["servers"].values())
    for name, operation in document["operations"].items():
        assert operation["action"] in ("send", "receive"), name
        channel = resolve(document, operation["channel"]["$ref"])
        assert channel["address"], name
        for message in operation["messages"]:
            resolve(document, resolve(document, message["$ref"])["$ref"])
    for message in document["components"]["messages"].values():
        resolve(document, message["payload"]["$ref"])
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)  # each one a valid JSON Schema
        assert name


def test_every_event_in_contracts_has_a_channel_with_its_payload_schema(
        document: dict[str, Any]) -> None:
    channels = event_channels(document)
    assert set(channels) == set(event_models())
    for event_type, model in event_models().items():
        channel = channels[event_type]
        assert channel["address"].endswith("." + event_type)
        assert channel["x-producer"].endswith("_service")
        (message,) = channel["messages"].values()
        envelope = resolve(document, resolve(document, message["$ref"])["payload"]["$ref"])
        payload = resolve(document, envelope["properties"]["payload"]["$ref"])
        assert set(payload["properties"]) == set(model.model_json_schema()["properties"])
        assert set(envelope["properties"]) >= {"event_id", "correlation_id", "payload"}


def test_each_event_names_who_publishes_and_who_consumes_it(document: dict[str, Any]) -> None:
    channels = event_channels(document)
    assert channels["CompileRequested"]["x-producer"] == "compile_service"
    assert channels["CompileRequested"]["x-consumers"] == ["compile_service.jobs",
                                                           "live_service.feed"]
    assert channels["ResumeUpdated"]["x-consumers"] == ["ai_service.resumes",
                                                        "compile_service.resumes",
                                                        "live_service.feed"]
    receivers = {(op["bindings"]["amqp"]["cc"][0], resolve(document, op["channel"]["$ref"])[
        "x-consumer"]) for op in document["operations"].values() if op["action"] == "receive"}
    assert ("auth.UserSignedOut", "resume_service.sessions") in receivers


def test_the_documented_consumers_are_the_ones_the_services_build() -> None:
    anything = SimpleNamespace(service=None, compiler=SimpleNamespace(artifacts=None),
                               sessions=None, client=object(), jobs=None, imports=None, db=None,
                               engine=None, erase=None, record_completion=None)
    built: list[Consumer] = [
        signed_out_consumer(anything, 5),  # type: ignore[arg-type]
        imported_resumes_consumer(anything, 5),  # type: ignore[arg-type]
        jobs_consumer(anything, CompileSettings()),  # type: ignore[arg-type]
        compile_resumes_consumer(anything, CompileSettings()),  # type: ignore[arg-type]
        *ai_consumers(anything, AiSettings(gemini_api_key="test"), works=True),  # type: ignore[arg-type]
        feed_consumer(anything),  # type: ignore[arg-type]
        exports_consumer(anything, anything, AuthSettings(), anything),  # type: ignore[arg-type]
        resume_erasure_consumer(anything),  # type: ignore[arg-type]
        compile_erasure_consumer(anything, CompileSettings()),  # type: ignore[arg-type]
        live_erasure_consumer(anything, anything),  # type: ignore[arg-type]
        completions_consumer(anything),  # type: ignore[arg-type]
    ]
    assert {c.name: tuple(c.binding_keys) for c in built} == asyncapi.CONSUMERS


def test_the_committed_document_is_up_to_date() -> None:
    committed = asyncapi.DOCUMENT_PATH.read_text(encoding="utf-8")
    assert committed == asyncapi.render(asyncapi.document()), (
        "docs/asyncapi.json is stale: run python -m runtime.asyncapi")


async def test_the_gateway_serves_the_document_beside_the_openapi_docs(
        observed: ObservedStack, document: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=observed.urls["gateway"]) as client:
        served = await client.get("/api/asyncapi.json")
        page = await client.get("/api/asyncapi")
    assert served.status_code == 200 and served.json() == document
    assert page.status_code == 200 and "AsyncApiStandalone" in page.text
