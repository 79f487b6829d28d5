"""`GET /compile/preview/{job_id}`: a PNG of page 1 of a succeeded job's PDF, made by
pdftoppm on the first ask and then served from the artifact store, through the real app and
its in-process worker; and the preview maker's failures (503 with Retry-After)."""

import asyncio
import struct
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from compile_service.artifacts import DirectoryStore
from compile_service.previews import PNG_MAGIC, Previewer
from compile_service.settings import CompileSettings
from runtime.http import ApiError
from tests.integration.compile.conftest import (
    compile_and_wait,
    create_resume,
    resume_document,
    unique,
)

DPI = CompileSettings.model_fields["preview_dpi"].default  # compile_env keeps it


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a PNG starts with."""
    assert png[:8] == PNG_MAGIC, png[:16]
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def page_points(pdf: bytes) -> tuple[float, float]:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    line = next(x for x in info.stdout.decode().splitlines() if x.startswith("Page size:"))
    parts = line.split()
    return float(parts[2]), float(parts[4])


def preview_file(compile_env: dict[str, Any], etag: str) -> Path:
    key = etag.strip('"').removesuffix(".page1")
    return Path(compile_env["artifacts_dir"]) / key[:2] / f"{key}.page1.png"


async def test_a_succeeded_job_has_a_png_of_page_one_made_once_then_cached(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str, compile_env: dict[str, Any]) -> None:
    headers = as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers,
                                             resume_document(unique("Preview")))
    job = await compile_and_wait(compile_api, headers, resume_id, version=version)
    assert job["status"] == "succeeded", job
    url = f"/compile/preview/{job['job_id']}"

    first = await compile_api.get(url, headers=headers)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "image/png"
    assert first.headers["cache-control"].startswith("private, max-age=")
    width, height = png_size(first.content)
    pdf = (await compile_api.get(job["pdf_url"], headers=headers)).content
    points = page_points(pdf)
    assert abs(width - points[0] * DPI / 72) <= 1 and abs(height - points[1] * DPI / 72) <= 1
    etag = first.headers["etag"]
    assert etag == f'"{pdf_etag(await compile_api.get(job["pdf_url"], headers=headers))}.page1"'
    cached = preview_file(compile_env, etag)
    assert cached.read_bytes() == first.content
    made = cached.stat().st_mtime_ns

    second = await compile_api.get(url, headers=headers)
    assert second.status_code == 200
    assert second.headers["etag"] == etag and second.content == first.content
    assert cached.stat().st_mtime_ns == made  # served from the store, not made again
    not_modified = await compile_api.get(url, headers={**headers, "If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag


def pdf_etag(response: httpx.Response) -> str:
    return response.headers["etag"].strip('"')


async def test_another_users_or_an_unknown_job_is_a_404(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers, resume_document())
    job = await compile_and_wait(compile_api, headers, resume_id, version=version)
    assert job["status"] == "succeeded", job
    intruder = await compile_api.get(f"/compile/preview/{job['job_id']}",
                                     headers=as_user(unique("mallory")))
    unknown = await compile_api.get(f"/compile/preview/{'0' * 8}-0000-4000-8000-{'0' * 12}",
                                    headers=headers)
    for response in (intruder, unknown):
        assert response.status_code == 404, response.text
    assert intruder.json() == unknown.json()  # nothing tells the two apart
    status_404 = await compile_api.get(f"/compile/status/{'0' * 8}-0000-4000-8000-{'0' * 12}",
                                       headers=headers)
    assert intruder.json()["error"]["code"] == status_404.json()["error"]["code"]


async def test_a_job_not_succeeded_is_a_409_naming_its_status(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers,
                                             resume_document(unique("Early")))
    requested = await compile_api.post(f"/compile/{resume_id}", headers=headers,
                                       json={"version": version, "template": "slow"})
    assert requested.status_code == 202, requested.text
    early = await compile_api.get(f"/compile/preview/{requested.json()['job_id']}",
                                  headers=headers)
    assert early.status_code == 409, early.text
    assert early.json()["error"]["code"] == "preview_not_ready"
    assert early.json()["error"]["job_status"] in ("queued", "running")

    failed = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                    template="broken")
    assert failed["status"] == "failed", failed
    response = await compile_api.get(f"/compile/preview/{failed['job_id']}", headers=headers)
    assert response.status_code == 409, response.text
    assert response.json()["error"] == {
        "code": "preview_not_ready", "job_status": "failed",
        "message": response.json()["error"]["message"]}
    assert "failed" in response.json()["error"]["message"]


# -- the preview maker's failures ------------------------------------------------------------

KEY = "cd" * 32


def minimal_pdf() -> bytes:
    # the smallest valid one-page PDF (a blank 200 x 100 pt page)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>"]
    body, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return body


class Succeeded:
    status, result = "succeeded", {"artifact_key": KEY}


async def test_the_preview_maker_renders_a_stored_pdf_at_its_resolution(
        tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    await store.put(KEY, minimal_pdf())
    preview = await Previewer(store, dpi=144).of_job(Succeeded())
    assert preview.png is not None and png_size(preview.png) == (400, 200)
    assert await store.preview(KEY) == preview.png


async def test_asks_at_once_share_one_pdftoppm_run(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "store")
    await store.put(KEY, minimal_pdf())
    runs, counting = tmp_path / "runs", tmp_path / "pdftoppm"
    counting.write_text(f'#!/bin/sh\necho run >> {runs}\nsleep 0.2\nexec pdftoppm "$@"\n')
    counting.chmod(0o755)
    previewer = Previewer(store, pdftoppm=str(counting))
    previews = await asyncio.gather(*[previewer.of_job(Succeeded()) for _ in range(5)])
    assert len({p.png for p in previews}) == 1 and previews[0].png is not None
    assert runs.read_text().splitlines() == ["run"]
    await previewer.of_job(Succeeded())  # from the store now
    assert runs.read_text().splitlines() == ["run"]


async def test_a_missing_or_hanging_pdftoppm_is_a_503_with_retry_after(
        tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "store")
    await store.put(KEY, minimal_pdf())
    hanging = tmp_path / "pdftoppm"
    hanging.write_text("#!/bin/sh\nexec sleep 30\n")
    hanging.chmod(0o755)
    for previewer in (Previewer(store, pdftoppm=str(tmp_path / "nowhere")),
                      Previewer(store, pdftoppm=str(hanging), timeout_seconds=0.3)):
        with pytest.raises(ApiError) as raised:
            await previewer.of_job(Succeeded())
        assert (raised.value.status, raised.value.code) == (503, "preview_unavailable")
        assert raised.value.details["retry_after"] > 0
    assert await store.preview(KEY) is None


async def test_an_unreadable_artifact_store_is_a_503(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    await store.put(KEY, minimal_pdf())
    store.preview_path(KEY).mkdir()  # reading it fails with an OSError, even as root
    with pytest.raises(ApiError) as raised:
        await Previewer(store).of_job(Succeeded())
    assert (raised.value.status, raised.value.code) == (503, "preview_unavailable")
    assert raised.value.details["retry_after"] > 0


async def test_a_pdf_no_longer_stored_is_a_404(tmp_path: Path) -> None:
    with pytest.raises(ApiError) as raised:
        await Previewer(DirectoryStore(tmp_path)).of_job(Succeeded())
    assert (raised.value.status, raised.value.code) == (404, "pdf_gone")
