"""The whole product through the gateway only, on the real stack (every Procfile process on
its own): sign in against the local OIDC issuer, write a resume, compile it to PDF with
pdflatex, have it rated by the (fake) Gemini API, look back in its history, sign out."""

import uuid

import httpx

from tests.e2e.conftest import GEMINI_KEY, Stack, compile_version, rate_version, sign_in
from tests.fakes.gemini import GOOD_RATING
from tests.integration.compile.conftest import pdftotext, resume_document


async def test_a_user_writes_compiles_rates_and_signs_out_through_the_gateway(
        stack: Stack) -> None:
    marker = f"Marker{uuid.uuid4().hex[:10]}"
    async with stack.client() as browser:
        subject = await sign_in(stack, browser)
        me = await browser.get("/api/user/me")
        assert me.status_code == 200, me.text
        assert me.json()["email"] == f"{subject}@example.com"

        first = resume_document(name="Ada Lovelace", title=f"Ada {marker}",
                                bullets=["Wrote the first published algorithm"])
        created = await browser.post("/api/resume/create", json=first)
        assert created.status_code == 201, created.text
        resume_id, version = created.json()["id"], created.json()["version"]
        assert version == 1

        second = resume_document(name="Ada Lovelace", title=f"Ada {marker}",
                                 bullets=[f"Computed Bernoulli numbers {marker}"])
        updated = await browser.put(f"/api/resume/update/{resume_id}",
                                    json={**second, "version": 1})
        assert updated.status_code == 200, updated.text
        assert updated.json()["version"] == 2
        stale = await browser.put(f"/api/resume/update/{resume_id}",
                                  json={**first, "version": 1})
        assert stale.status_code == 409, stale.text

        job = await compile_version(browser, resume_id, version=2)
        assert job["status"] == "succeeded", job
        pdf = await browser.get(job["pdf_url"])
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        text = " ".join(pdftotext(pdf.content).split())
        assert "Ada Lovelace" in text and f"Computed Bernoulli numbers {marker}" in text
        assert "first published algorithm" not in text  # version 2, not version 1

        rating = await rate_version(browser, resume_id, version=2)
        assert rating["status"] == "succeeded", rating
        assert rating["rating"]["overall_score"] == GOOD_RATING["overall_score"]
        asked = [seen for seen in stack.gemini.requests if marker in str(seen.body)]
        assert len(asked) == 1 and asked[0].api_key == GEMINI_KEY

        history = await browser.get(f"/api/resume/{resume_id}/history")
        assert history.status_code == 200, history.text
        assert [(e["version"], e["event_type"]) for e in history.json()] == [
            (1, "ResumeCreated"), (2, "ResumeUpdated")]
        old = await browser.get(f"/api/resume/{resume_id}/versions/1")
        assert old.status_code == 200, old.text
        old_bullets = old.json()["document"]["sections"][0]["items"][0]["bullets"]
        assert old_bullets == ["Wrote the first published algorithm"]

        session = browser.cookies["rb_session"]
        signed_out = await browser.post("/api/auth/logout")
        assert signed_out.status_code == 204, signed_out.text

    async with stack.client() as replayed_cookie:
        for path in ("/api/user/me", f"/api/resume/{resume_id}"):
            response = await replayed_cookie.get(path, headers={"Cookie": f"rb_session={session}"})
            assert response.status_code == 401, (path, response.text)


async def test_another_user_gets_404_for_someone_elses_resume_and_pdf(stack: Stack) -> None:
    async with stack.client() as owner, stack.client() as stranger:
        await sign_in(stack, owner)
        created = await owner.post("/api/resume/create",
                                   json=resume_document(title="Owner's own"))
        assert created.status_code == 201, created.text
        resume_id = created.json()["id"]
        job = await compile_version(owner, resume_id, version=1)
        assert job["status"] == "succeeded", job

        await sign_in(stack, stranger)
        for path in (f"/api/resume/{resume_id}", f"/api/resume/{resume_id}/history",
                     f"/api/compile/status/{job['job_id']}", f"/api/compile/pdf/{job['job_id']}"):
            response = await stranger.get(path)
            assert response.status_code == 404, (path, response.text)


async def test_without_a_session_the_gateway_answers_401(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as anonymous:
        for path in ("/api/resume/all", "/api/user/me", "/api/compile/templates"):
            response = await anonymous.get(path)
            assert response.status_code == 401, (path, response.text)
