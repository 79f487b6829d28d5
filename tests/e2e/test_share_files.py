"""A share's PDF and preview through the gateway on the real stack: compiled on the owner's
behalf on the first ask (the share's version, template and hidden fields), found by content
after, revalidated by ETag, counted as downloads, gone with the share; no session needed."""

import asyncio
import subprocess
from typing import Any

import httpx

from tests.e2e.conftest import Stack, sign_in
from tests.integration.compile.conftest import resume_document

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                          check=True, timeout=30).stdout.decode()


def version_document(version: int) -> dict[str, Any]:
    document = resume_document(title=f"Shared v{version}", template="standard",
                               bullets=[f"Milestone marker{version}x"])
    document["contact"]["phone"] = "+44 20 7946 0958"
    return document


async def resume_at_version_5(owner: httpx.AsyncClient) -> str:
    created = await owner.post("/api/resume/create", json=version_document(1))
    assert created.status_code == 201, created.text
    resume_id = str(created.json()["id"])
    for version in range(1, 5):
        saved = await owner.put(f"/api/resume/update/{resume_id}",
                                json={**version_document(version + 1), "version": version})
        assert saved.status_code == 200, saved.text
    return resume_id


async def share(owner: httpx.AsyncClient, resume_id: str, **body: Any) -> str:
    response = await owner.post(f"/api/resume/{resume_id}/shares", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["slug"])


def anonymous(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.gateway_url, timeout=60,
                             headers={"User-Agent": BROWSER})


async def downloads_of(owner: httpx.AsyncClient, resume_id: str, slug: str,
                       expected: int) -> int:
    """The share's download count once it reaches `expected` (views are recorded after the
    answer), or as it is after a few seconds."""
    for _ in range(50):
        listed = await owner.get(f"/api/resume/{resume_id}/shares")
        stats = next(s for s in listed.json() if s["slug"] == slug)["stats"]
        if stats["downloads"] >= expected:
            break
        await asyncio.sleep(0.1)
    return int(stats["downloads"])


async def test_a_share_s_pdf_is_its_version_without_its_hidden_fields(stack: Stack) -> None:
    async with stack.client() as owner, anonymous(stack) as visitor:
        await sign_in(stack, owner)
        resume_id = await resume_at_version_5(owner)
        pinned = await share(owner, resume_id, version=2, template="standard",
                             hidden=["email", "phone"])
        latest = await share(owner, resume_id, template="compact")

        response = await visitor.get(f"/api/public/{pinned}/pdf")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"].startswith("inline;")
        assert "set-cookie" not in response.headers
        text = pdf_text(response.content)
        assert "marker2x" in text and "marker5x" not in text
        assert "Ada Lovelace" in text
        assert "ada@example.com" not in text and "7946" not in text

        following = await visitor.get(f"/api/public/{latest}/pdf")
        assert following.status_code == 200, following.text
        assert "marker5x" in pdf_text(following.content)
        assert "ada@example.com" in pdf_text(following.content)


async def test_a_share_s_pdf_is_revalidated_counted_once_and_gone_when_revoked(
        stack: Stack) -> None:
    async with stack.client() as owner, anonymous(stack) as visitor:
        await sign_in(stack, owner)
        resume_id = await resume_at_version_5(owner)
        response = await owner.post(f"/api/resume/{resume_id}/shares", json={"version": 3})
        slug, share_id = response.json()["slug"], response.json()["id"]

        first = await visitor.get(f"/api/public/{slug}/pdf")
        assert first.status_code == 200, first.text
        etag = first.headers["etag"]
        again = await visitor.get(f"/api/public/{slug}/pdf")
        assert again.status_code == 200 and again.content == first.content
        same = await visitor.get(f"/api/public/{slug}/pdf", headers={"If-None-Match": etag})
        assert same.status_code == 304 and same.headers["etag"] == etag
        assert await downloads_of(owner, resume_id, slug, 1) == 1

        revoked = await owner.delete(f"/api/resume/{resume_id}/shares/{share_id}")
        assert revoked.status_code == 204
        gone = await visitor.get(f"/api/public/{slug}/pdf", headers={"If-None-Match": etag})
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "share_not_found"


async def test_a_share_s_preview_is_a_png_and_the_page_points_at_it(stack: Stack) -> None:
    async with stack.client() as owner, anonymous(stack) as visitor:
        await sign_in(stack, owner)
        resume_id = await resume_at_version_5(owner)
        slug = await share(owner, resume_id)

        preview = await visitor.get(f"/api/public/{slug}/preview.png")
        assert preview.status_code == 200, preview.text
        assert preview.headers["content-type"] == "image/png"
        assert preview.content.startswith(PNG_MAGIC)
        page = await visitor.get(f"/api/public/{slug}/page")
        assert f'property="og:image" content="/api/public/{slug}/preview.png"' in page.text


async def test_a_protected_share_s_pdf_needs_its_password(stack: Stack) -> None:
    async with stack.client() as owner, anonymous(stack) as visitor:
        await sign_in(stack, owner)
        resume_id = await resume_at_version_5(owner)
        slug = await share(owner, resume_id, password="open sesame")

        locked = await visitor.get(f"/api/public/{slug}/pdf")
        assert locked.status_code == 401
        assert locked.json()["error"]["code"] == "share_password_required"
        opened = await visitor.get(f"/api/public/{slug}/pdf",
                                   headers={"X-Share-Password": "open sesame"})
        assert opened.status_code == 200, opened.text
        assert "marker5x" in pdf_text(opened.content)


async def test_a_share_s_files_are_not_reachable_as_compile_routes(stack: Stack) -> None:
    """The internal route takes grants only, and the gateway never forwards to it."""
    async with stack.client() as owner:
        await sign_in(stack, owner)
        through_gateway = await owner.post("/api/compile/../internal/shares/pdf", json={})
        assert through_gateway.status_code in (400, 404)
        async with httpx.AsyncClient(base_url=stack.url_of("COMPILE_PORT")) as direct:
            forged = await direct.post("/internal/shares/pdf", content=b'{"exp": 1e12}',
                                       headers={"X-Internal-Grant": "0" * 64})
            assert forged.status_code == 401
            assert forged.json()["error"]["code"] == "invalid_grant"
