"""`GET /compile/templates/{name}/thumbnail.png`: page 1 of each template on the built-in
sample resume, through the real app (its engines, pdftoppm, the artifact store), and the
listing's link to it."""

import time
from pathlib import Path
from typing import Any

import httpx

from compile_service.rendering import BUILTIN_TEMPLATES, Renderer
from compile_service.sample_resume import sample_resume
from compile_service.settings import CompileSettings
from compile_service.wiring import build
from tests.integration.compile.test_preview import png_size, preview_file

DPI = CompileSettings.model_fields["preview_dpi"].default
BUILTIN = sorted(Renderer([BUILTIN_TEMPLATES]).templates)
A4, LETTER = (595.28, 841.89), (612.0, 792.0)  # points


def thumbnail_url(name: str) -> str:
    return f"/compile/templates/{name}/thumbnail.png"


async def test_the_listing_links_every_template_to_its_thumbnail(
        compile_api: httpx.AsyncClient, as_user: Any, user_id: str) -> None:
    headers = as_user(user_id)
    direct = (await compile_api.get("/compile/templates", headers=headers)).json()
    assert {t["name"]: t["thumbnail"] for t in direct} == {
        t["name"]: thumbnail_url(t["name"]) for t in direct}
    forwarded = (await compile_api.get("/compile/templates", headers={
        **headers, "X-Forwarded-Prefix": "/api"})).json()
    assert all(t["thumbnail"] == "/api" + thumbnail_url(t["name"]) for t in forwarded)


async def test_every_builtin_template_has_a_png_thumbnail_of_its_first_page(
        compile_api: httpx.AsyncClient, as_user: Any, user_id: str,
        compile_env: dict[str, Any]) -> None:
    headers = as_user(user_id)
    assert len(BUILTIN) >= 6
    for name in BUILTIN:
        response = await compile_api.get(thumbnail_url(name), headers=headers)
        assert response.status_code == 200, (name, response.text)
        assert response.headers["content-type"] == "image/png"
        assert response.headers["cache-control"].startswith("private, max-age=")
        width, height = png_size(response.content)
        assert any(_about(width, height, page) for page in (A4, LETTER)), (name, width, height)
        stored = preview_file(compile_env, response.headers["etag"])
        assert stored.read_bytes() == response.content, name


async def test_a_thumbnail_is_made_once_then_served_from_the_store(
        compile_api: httpx.AsyncClient, as_user: Any, user_id: str,
        compile_env: dict[str, Any]) -> None:
    headers = as_user(user_id)
    first = await compile_api.get(thumbnail_url("compact"), headers=headers)
    assert first.status_code == 200, first.text
    stored = preview_file(compile_env, first.headers["etag"])
    made = stored.stat().st_mtime_ns
    second = await compile_api.get(thumbnail_url("compact"), headers=headers)
    assert (second.content, second.headers["etag"]) == (first.content, first.headers["etag"])
    assert stored.stat().st_mtime_ns == made
    assert _pdf_beside(stored).is_file()  # the sample's PDF, an artifact like a job's


async def test_a_thumbnail_the_asker_has_is_a_304(
        compile_api: httpx.AsyncClient, as_user: Any, user_id: str) -> None:
    headers = as_user(user_id)
    first = await compile_api.get(thumbnail_url("classic"), headers=headers)
    etag = first.headers["etag"]
    same = await compile_api.get(thumbnail_url("classic"),
                                 headers={**headers, "If-None-Match": f'"other", {etag}'})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["etag"] == etag
    other = await compile_api.get(thumbnail_url("classic"),
                                  headers={**headers, "If-None-Match": '"other"'})
    assert other.status_code == 200 and other.content == first.content


async def test_an_unknown_template_has_no_thumbnail(
        compile_api: httpx.AsyncClient, as_user: Any, user_id: str) -> None:
    headers = as_user(user_id)
    unknown = await compile_api.get(thumbnail_url("no-such-template"), headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "template_not_found"
    invalid = await compile_api.get(thumbnail_url("Not_Valid!"), headers=headers)
    assert invalid.status_code == 422


async def test_thumbnails_need_a_session_as_the_listing_does(
        compile_api: httpx.AsyncClient) -> None:
    assert (await compile_api.get(thumbnail_url("classic"))).status_code == 401
    assert (await compile_api.get("/compile/templates")).status_code == 401


async def test_a_template_that_does_not_compile_is_a_503_not_tried_again_at_once(
        compile_api: httpx.AsyncClient, as_user: Any, user_id: str) -> None:
    headers = as_user(user_id)
    first = await compile_api.get(thumbnail_url("broken"), headers=headers)
    assert first.status_code == 503, first.text
    assert first.json()["error"]["code"] == "thumbnail_unavailable"
    assert int(first.headers["retry-after"]) > 0
    started = time.perf_counter()
    again = await compile_api.get(thumbnail_url("broken"), headers=headers)
    assert again.status_code == 503 and int(again.headers["retry-after"]) > 0
    assert time.perf_counter() - started < 0.2  # remembered, TeX not run again


def test_the_sample_gives_the_same_content_key_in_every_process() -> None:
    first, second = sample_resume(), sample_resume()
    assert first == second  # fixed ids: the key, hence the stored thumbnail, survives restarts
    assert first.model_dump_json() == second.model_dump_json()


def _about(width: int, height: int, points: tuple[float, float]) -> bool:
    """Page 1 at the preview's resolution (pdftoppm rounds either way)."""
    return abs(width - points[0] * DPI / 72) <= 1 and abs(height - points[1] * DPI / 72) <= 1


def _pdf_beside(png: Path) -> Path:
    return png.with_name(png.name.removesuffix(".page1.png") + ".pdf")


async def test_the_worker_makes_every_missing_thumbnail_when_it_starts(
        compile_env: dict[str, Any], tmp_path: Path) -> None:
    settings = CompileSettings.model_validate({
        **compile_env, "artifacts_dir": str(tmp_path / "artifacts"),
        "compile_templates_extra_dir": ""})
    components = build(settings)
    try:
        await components.thumbnails.make_all()
        for name in BUILTIN:
            key = components.thumbnails.prepared(name).key
            png = await components.compiler.artifacts.preview(key)
            assert png is not None and png_size(png), name
        again = build(settings)  # a restart: the same keys, found stored
        try:
            stored = {n: again.thumbnails.prepared(n).key for n in BUILTIN}
            assert stored == {n: components.thumbnails.prepared(n).key for n in BUILTIN}
        finally:
            await again.close()
    finally:
        await components.close()
