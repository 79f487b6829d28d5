"""compile_service through its own HTTP API, with signed identity headers, the real broker
(relay -> work queue -> in-process worker) and the real pdflatex."""

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from compile_service.typesetting.engine import CompileFailed
from compile_service.typesetting.latex import PdfLatex
from compile_service.typesetting.sandbox import Limits
from tests.integration.compile.conftest import (
    compile_and_wait,
    create_resume,
    pdf_pages,
    pdf_text,
    pdftotext,
    resume_document,
    run_dir_entries,
    unique,
    wait_for_job,
)


async def test_resume_compiles_and_the_pdf_holds_its_name_and_bullets(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    name = unique("Ada")
    resume_id, version = await create_resume(resume_api, headers, resume_document(name))
    response = await compile_api.post(f"/compile/{resume_id}", json={"version": version},
                                      headers=headers)
    assert response.status_code == 202
    assert response.headers["Location"] == response.json()["status_url"]
    job = await wait_for_job(compile_api, headers, response.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert (job["version"], job["template"], job["engine"]) == (version, "classic", "pdflatex")
    assert job["pdf_url"] == f"/compile/pdf/{job['job_id']}"
    assert job["timings"]["total_ms"] is not None and job["timings"]["engine_ms"] > 0
    text = await pdf_text(compile_api, headers, job["job_id"])
    assert name in text
    assert "Wrote the first published algorithm" in text
    assert "Computed Bernoulli numbers" in text
    # behind the gateway the links carry its prefix; a prefix that is not a plain path is ignored
    for prefix, expected in (("/api", "/api"), ("https://evil.example", ""), ("//x", "")):
        seen = await compile_api.get(f"/compile/status/{job['job_id']}",
                                     headers={**headers, "X-Forwarded-Prefix": prefix})
        assert seen.json()["status_url"] == f"{expected}/compile/status/{job['job_id']}"
        assert seen.json()["pdf_url"] == f"{expected}/compile/pdf/{job['job_id']}"


async def test_both_templates_fit_a_typical_resume_on_one_page(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    document = resume_document(unique("Grace"))
    experience = document["sections"][0]["items"][0]
    document["sections"][0]["items"] = [
        {**experience, "title": f"Role {i}",
         "bullets": [f"Shipped feature {j} used by many customers every day" for j in range(4)]}
        for i in range(4)]
    resume_id, version = await create_resume(resume_api, headers, document)
    templates = (await compile_api.get("/compile/templates", headers=headers)).json()
    assert {"classic", "modern"} <= {t["name"] for t in templates}
    sizes = set()
    for template in ("classic", "modern"):
        job = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                     template=template)
        assert job["status"] == "succeeded", job
        pdf = (await compile_api.get(job["pdf_url"], headers=headers)).content
        assert pdf_pages(pdf) == 1
        sizes.add(len(pdf))
    assert len(sizes) == 2  # two different looks, not one template under two names


INJECTION_CORPUS = [
    r"\input{/etc/passwd}", r"\include{/etc/shadow}", r"\write18{touch MARKER}",
    r"\immediate\write18{touch MARKER}", "^^5cinput{/etc/passwd}", "^^5c^^5c",
    r"\catcode`\@=11", r"\csname input\endcsname{/etc/passwd}", r"\def\x{\x}\x",
    "100% sure", "$x^2$", "R&D", "#1 seller", "snake_case", "{}", "~home", r"a\\b",
    "[optional] arg", "<tag> | pipe", 'say "hi"',
]


async def test_injection_corpus_comes_out_as_literal_text(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str, tmp_path: Path) -> None:
    headers = as_user(user_id)
    marker = tmp_path / "pwned"
    corpus = [c.replace("MARKER", str(marker)) for c in INJECTION_CORPUS]
    document = resume_document(r"Eve \input{/etc/passwd}", bullets=[
        *corpus, "emoji 😀🚀 done", "RTL \u202eevil\u202c שלום مرحبا end", "ctl\x07\x1b\x7f x"])
    document["sections"][0]["title"] = r"\csname end\endcsname $%&#_{}~^\\"
    resume_id, version = await create_resume(resume_api, headers, document)
    for template in ("classic", "modern"):
        job = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                     template=template)
        assert job["status"] == "succeeded", job
        text = normalize(await pdf_text(compile_api, headers, job["job_id"]))
        for literal in [r"Eve \input{/etc/passwd}", *corpus]:
            assert normalize(literal) in text, (template, literal)
        assert "root:" not in text
        assert "emoji ?? done" in text and "end" in text
    assert not marker.exists()


def normalize(text: str) -> str:
    """pdftotext reads T1's ASCII-like glyphs back as their spacing-accent look-alikes."""
    return " ".join(text.replace("\u02dc", "~").replace("\u02c6", "^").split())


async def test_a_tex_loop_is_killed_at_the_time_limit_and_the_job_fails_clearly(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str, compile_env: dict[str, Any]) -> None:
    headers = as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers, resume_document())
    started = time.monotonic()
    job = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                 template="loop")
    assert job["status"] == "failed"
    assert "time limit" in job["error"] and "4 s" in job["error"]
    assert time.monotonic() - started < 4 + 3
    assert job["pdf_url"] is None
    assert run_dir_entries(compile_env["compile_work_dir"]) == []  # nothing left behind


async def test_a_tex_error_reports_the_log_lines_without_server_paths(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:

    engine = PdfLatex(limits=Limits(wall_seconds=10))
    try:
        await engine.compile("\\documentclass{article}\\begin{document}\\nosuchmacro\n"
                             "\\end{document}\n")
    except CompileFailed as failure:
        message = str(failure)
    assert "Undefined control sequence" in message and "nosuchmacro" in message
    assert "/tmp" not in message and "/usr" not in message


async def test_the_same_content_compiles_once_and_then_finishes_at_once(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers,
                                             resume_document(unique("Cache")))
    first = await compile_and_wait(compile_api, headers, resume_id, version=version)
    assert first["status"] == "succeeded" and not first["cached"]
    response = await compile_api.post(f"/compile/{resume_id}", json={"version": version},
                                      headers=headers)
    second = response.json()
    assert second["status"] == "succeeded" and second["cached"]  # in the 202 itself
    assert second["job_id"] != first["job_id"]
    pdf1 = await compile_api.get(first["pdf_url"], headers=headers)
    pdf2 = await compile_api.get(second["pdf_url"], headers=headers)
    assert pdf1.content == pdf2.content and pdf1.headers["ETag"] == pdf2.headers["ETag"]


async def test_a_queued_or_running_job_is_returned_instead_of_a_new_one(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers,
                                             resume_document(unique("Dedup")))
    body = {"version": version, "template": "slow"}
    responses = await asyncio.gather(*[
        compile_api.post(f"/compile/{resume_id}", json=body, headers=headers)
        for _ in range(3)])
    assert len({r.json()["job_id"] for r in responses}) == 1
    again = await compile_api.post(f"/compile/{resume_id}", json=body, headers=headers)
    assert again.json()["job_id"] == responses[0].json()["job_id"]
    other_template = await compile_api.post(f"/compile/{resume_id}",
                                            json={"version": version}, headers=headers)
    assert other_template.json()["job_id"] != responses[0].json()["job_id"]
    job = await wait_for_job(compile_api, headers, again.json()["job_id"])
    assert job["status"] == "succeeded", job["error"]


async def test_a_compile_without_a_version_right_after_create_waits_for_the_resume(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    """The resume may not have reached compile_service's replica yet: a wait, not a 404."""
    headers = as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers,
                                             resume_document(unique("Fresh")))
    response = await compile_api.post(f"/compile/{resume_id}", headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["version"] == version


async def test_compile_after_save_compiles_the_saved_version(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers,
                                             resume_document(unique("Before")))
    after = unique("After")
    saved = await resume_api.put(f"/resume/update/{resume_id}", headers=headers,
                                 json={**resume_document(after), "version": version})
    assert saved.status_code == 200, saved.text
    new_version = saved.json()["version"]
    job = await compile_and_wait(compile_api, headers, resume_id, version=new_version)
    assert job["status"] == "succeeded" and job["version"] == new_version
    assert after in await pdf_text(compile_api, headers, job["job_id"])
    old = await compile_and_wait(compile_api, headers, resume_id, version=version)
    assert after not in await pdf_text(compile_api, headers, old["job_id"])


async def test_another_user_gets_404_on_compile_status_and_pdf(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    owner = as_user(user_id)
    stranger = as_user(f"user-{uuid.uuid4()}")
    resume_id, version = await create_resume(resume_api, owner, resume_document())
    job = await compile_and_wait(compile_api, owner, resume_id, version=version)
    assert job["status"] == "succeeded"
    attempts = [
        await compile_api.post(f"/compile/{resume_id}", json={}, headers=stranger),
        await compile_api.post(f"/compile/{resume_id}", json={"version": version},
                               headers=stranger),
        await compile_api.get(f"/compile/status/{job['job_id']}", headers=stranger),
        await compile_api.get(f"/compile/pdf/{job['job_id']}", headers=stranger),
    ]
    assert [r.status_code for r in attempts] == [404, 404, 404, 404]
    assert attempts[0].json()["error"]["code"] == "resume_not_found"


async def test_pdf_is_named_after_the_resume_and_revalidates_by_etag(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    resume_id, version = await create_resume(
        resume_api, headers, resume_document(title="Résumé 2024 / final"))
    job = await compile_and_wait(compile_api, headers, resume_id, version=version)
    pdf = await compile_api.get(job["pdf_url"], headers=headers)
    assert pdf.headers["content-type"] == "application/pdf"
    disposition = pdf.headers["content-disposition"]
    assert disposition.startswith("inline;")
    assert 'filename="Resume 2024 final.pdf"' in disposition  # no slash in a file name
    assert "filename*=UTF-8''R%C3%A9sum%C3%A9%202024%20final.pdf" in disposition
    assert pdf.content.startswith(b"%PDF") and "Ada" in pdftotext(pdf.content)
    again = await compile_api.get(job["pdf_url"],
                                  headers={**headers, "If-None-Match": pdf.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""


async def test_bad_requests_get_clear_errors(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers, resume_document())
    unknown = await compile_api.post(f"/compile/{resume_id}", headers=headers,
                                     json={"template": "nope", "version": version})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_template"
    future = await compile_api.post(f"/compile/{resume_id}", json={"version": version + 5},
                                    headers=headers)
    assert future.status_code == 409
    assert future.json()["error"]["current_version"] == version
    assert (await compile_api.post(f"/compile/{resume_id}")).status_code == 401
    assert (await compile_api.get("/compile/status/not-a-uuid",
                                  headers=headers)).status_code == 422
    assert (await compile_api.get(f"/compile/status/{uuid.uuid4()}",
                                  headers=headers)).status_code == 404


async def test_a_compile_request_with_wait_answers_once_the_job_finished(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers,
                                             resume_document(unique("Waited")))
    response = await compile_api.post(f"/compile/{resume_id}", params={"wait": 30},
                                      json={"version": version, "template": "compact"},
                                      headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "succeeded", response.text
    assert response.json()["pages"] == 1
