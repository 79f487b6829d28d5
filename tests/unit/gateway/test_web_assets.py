"""The web client's build served by the gateway at / (gateway.web_assets): long-lived hashed
assets, index.html revalidated, the SPA fallback, a strict CSP, a clear 503 without a build,
and /api left to the proxy."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.routing import route_label
from gateway.settings import GatewaySettings
from gateway.web_assets import CONTENT_SECURITY_POLICY, WebAssets

INDEX = b'<!doctype html><script type="module" src="/assets/index-abc123.js"></script>'


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "secret.txt").write_text("outside the build")
    return tmp_path


async def client_of(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


@pytest.fixture
async def web(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_of(WebAssets(dist)):
        yield client


async def test_hashed_assets_are_immutable_for_a_year(web: httpx.AsyncClient) -> None:
    response = await web.get("/assets/index-abc123.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"].split(";")[0] in ("text/javascript",
                                                             "application/javascript")
    assert response.text == "console.log(1)"


async def test_index_is_revalidated_each_time_and_answers_304_while_unchanged(
        web: httpx.AsyncClient) -> None:
    response = await web.get("/")
    assert response.status_code == 200 and response.content == INDEX
    assert response.headers["cache-control"] == "no-cache"
    again = await web.get("/", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_a_client_route_gets_the_app_and_an_unknown_asset_a_404(
        web: httpx.AsyncClient) -> None:
    for path in ("/resumes/0b7c7d3c-6a57-4a56-9d0b-3c1e2c7bfa10/history", "/trash", "/x.png"):
        response = await web.get(path)
        assert response.status_code == 200 and response.content == INDEX, path
    assert (await web.get("/assets/index-gone.js")).status_code == 404
    assert (await web.get("/favicon.svg")).text == "<svg/>"


async def test_nothing_outside_the_build_is_served(web: httpx.AsyncClient) -> None:
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        response = await web.get(path)
        assert b"outside the build" not in response.content, path


async def test_every_answer_carries_a_strict_policy_without_inline_scripts(
        web: httpx.AsyncClient) -> None:
    for path in ("/", "/assets/index-abc123.js", "/assets/missing.js"):
        headers = (await web.get(path)).headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


async def test_every_path_of_the_client_has_one_metrics_label(dist: Path) -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    for path in ("/", "/resumes/x", "/assets/index-abc123.js"):
        scope: dict[str, Any] = {"type": "http", "method": "GET", "path": path, "headers": []}
        await WebAssets(dist)(scope, None, send)  # type: ignore[arg-type]
        assert route_label(scope) == "/*", path


async def test_only_get_and_head(web: httpx.AsyncClient) -> None:
    assert (await web.post("/", content=b"x")).status_code == 405
    head = await web.head("/")
    assert head.status_code == 200 and head.content == b""


async def test_without_a_build_the_page_says_how_to_make_it(tmp_path: Path) -> None:
    async for client in client_of(WebAssets(tmp_path / "missing")):
        response = await client.get("/resumes")
        assert response.status_code == 503
        assert "make up" in response.text and response.headers["retry-after"]


async def test_the_gateway_serves_the_app_outside_api_and_keeps_api_for_the_proxy(
        dist: Path) -> None:
    app = create_app(GatewaySettings(_env_file=None, web_dist_dir=str(dist)))  # type: ignore[call-arg]
    async for client in client_of(app):
        assert (await client.get("/resumes/abc")).content == INDEX
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        for ops_only in ("/metrics", "/readyz"):  # the ops listener's, never the page
            assert (await client.get(ops_only)).status_code == 404, ops_only
        api = await client.get("/api/nothing-here")
        assert api.status_code == 404 and "content-security-policy" not in api.headers
