"""Each service's /metrics (on its ops listener) after some traffic: requests counted by route
template and status, latency histograms, events appended and published, the read cache,
consumers, compile outcomes (a failed compile counted as failed), and /metrics never
reachable through /api."""

import asyncio
import re
import uuid
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from runtime.ops import ops_listener
from runtime.settings import ServiceSettings
from tests.integration.observability.conftest import (
    ObservedStack,
    compile_and_wait,
    create_resume,
    free_port,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
UUID_LIKE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")
SERVICES = ("gateway", "auth_service", "resume_service", "compile_service")


async def scrape(url: str) -> Samples:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


class Delta:
    def __init__(self, before: Samples, after: Samples) -> None:
        self.before, self.after = before, after

    def __call__(self, name: str, **labels: str) -> float:
        return value(self.after, name, **labels) - value(self.before, name, **labels)


async def scrape_all(observed: ObservedStack) -> dict[str, Samples]:
    return {name: await scrape(observed.ops_urls[name]) for name in SERVICES}


async def test_each_service_counts_requests_events_and_compile_outcomes(
        observed: ObservedStack) -> None:
    before = await scrape_all(observed)
    async with observed.signed_in_client() as client:
        created = (await create_resume(client)).json()
        for _ in range(2):  # a read-cache miss, then a hit
            assert (await client.get(f"/api/resume/{created['id']}")).status_code == 200
        assert (await client.get(f"/api/resume/{uuid.uuid4()}")).status_code == 404
        _, good = await compile_and_wait(client, created["id"], created["version"])
        _, broken = await compile_and_wait(client, created["id"], created["version"],
                                           template="broken")
    assert (good["status"], broken["status"]) == ("succeeded", "failed")
    await asyncio.sleep(0.6)  # the relays publish and measure their backlog
    after = await scrape_all(observed)
    gateway, auth, resume, compile_ = (Delta(before[n], after[n]) for n in SERVICES)

    http, latency = "rb_http_requests_total", "rb_http_request_duration_seconds_count"
    assert gateway(http, method="POST", route="/api/resume/*", status="201") == 1
    assert gateway(http, method="GET", route="/api/resume/*", status="200") == 2
    assert gateway(latency, method="GET", route="/api/resume/*", status="404") == 1
    assert gateway(http, method="POST", route="/api/compile/*", status="202") == 2
    assert auth(http, method="GET", route="/auth/callback", status="303") == 1
    assert resume(http, method="GET", route="/resume/{resume_id}", status="200") == 2
    assert resume(http, method="GET", route="/resume/{resume_id}", status="404") == 1
    assert resume(latency, method="POST", route="/resume/create", status="201") == 1
    assert compile_(http, method="POST", route="/compile/{resume_id}", status="202") == 2

    assert resume("rb_events_appended_total", event_type="ResumeCreated") == 1
    assert resume("rb_events_published_total", event_type="ResumeCreated") == 1
    assert resume("rb_cache_lookups_total", cache="rc:resume", result="miss") >= 1
    assert resume("rb_cache_lookups_total", cache="rc:resume", result="hit") >= 1
    assert value(after["resume_service"], "rb_outbox_backlog") == 0
    assert value(after["resume_service"], "rb_outbox_oldest_unpublished_age_seconds") == 0

    duration = "rb_compile_duration_seconds_count"
    assert compile_(duration, template="classic", outcome="succeeded") == 1
    assert compile_(duration, template="broken", outcome="failed") == 1
    assert compile_("rb_compile_artifact_cache_total", result="miss") >= 2
    assert compile_("rb_events_appended_total", event_type="CompileFinished") == 2
    assert compile_("rb_events_published_total", event_type="CompileRequested") == 2
    # at least: the session's other compile apps share this vhost's job queue, so a message
    # of theirs still being retried may be handled here inside the window
    assert compile_("rb_consumer_handle_duration_seconds_count", consumer="compile_service.jobs",
                    event_type="CompileRequested", outcome="handled") >= 2
    assert compile_("rb_consumer_handle_duration_seconds_count",
                    consumer="compile_service.resumes", event_type="ResumeCreated",
                    outcome="handled") >= 1


async def test_histograms_are_consistent_and_route_labels_are_templates(
        observed: ObservedStack) -> None:
    for name in SERVICES:
        samples = await scrape(observed.ops_urls[name])
        routes = {dict(labels)["route"] for (metric, labels) in samples
                  if metric == "rb_http_requests_total"}
        assert routes, name
        assert not any(UUID_LIKE.search(route) for route in routes), routes
        for (metric, labels), count in samples.items():
            if metric == "rb_http_request_duration_seconds_count":
                inf = value(samples, "rb_http_request_duration_seconds_bucket",
                            **dict(labels), le="+Inf")
                assert inf == count and value(
                    samples, "rb_http_request_duration_seconds_sum", **dict(labels)) > 0


async def test_metrics_are_not_reachable_through_the_public_api(
        observed: ObservedStack) -> None:
    async with observed.signed_in_client() as client:
        for path in ("/api/metrics", "/api/resume/metrics", "/api/compile/metrics",
                     "/api/resume/%2e%2e/metrics", "/api/auth/../metrics"):
            response = await client.get(path)
            assert response.status_code in (400, 404, 405, 422), (path, response.status_code)
            assert "rb_http_requests_total" not in response.text


async def test_metrics_can_be_switched_off(service_env: dict[str, Any]) -> None:
    settings = ServiceSettings(**service_env, metrics_enabled=False, ops_port=free_port())
    url = f"http://127.0.0.1:{settings.ops_port}"
    async with ops_listener("resume_service", settings, {}), httpx.AsyncClient() as client:
        assert (await client.get(f"{url}/metrics")).status_code == 404
        assert (await client.get(f"{url}/readyz")).status_code == 200  # no checks: ready
