"""Template options per compile, through the API with the real worker: they reach the
template (the PDF's paper size), they are part of the job's reuse key, and options the
template does not declare or values out of bounds answer 422 with each problem named."""

import subprocess
from typing import Any

import httpx

from compile_service.domain import same_source
from contracts.compile_events import CompileRequested
from tests.integration.compile.conftest import (
    Headers,
    compile_and_wait,
    create_resume,
    resume_document,
    unique,
)


def page_size(pdf: bytes) -> str:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    return next(x for x in info.stdout.decode().splitlines() if x.startswith("Page size:"))


async def test_options_reach_the_template_and_the_job_shows_them_resolved(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Headers,
        user_id: str) -> None:
    headers = as_user(user_id)
    resume_id, version = await create_resume(resume_api, headers,
                                             resume_document(unique("Ada")))
    a4 = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                template="compact")
    letter = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                    template="compact",
                                    options={"paper": "letter", "accent": "#AA0000"})
    assert a4["status"] == letter["status"] == "succeeded", (a4, letter)
    assert a4["options"] == {"accent": "#0b6e69", "font_size": 9, "paper": "a4", "margin": 12}
    assert letter["options"] == {**a4["options"], "paper": "letter", "accent": "#aa0000"}
    sizes = [page_size((await compile_api.get(job["pdf_url"], headers=headers)).content)
             for job in (a4, letter)]
    assert "595.276 x 841.89" in sizes[0] and "612 x 792" in sizes[1], sizes


async def test_invalid_options_answer_422_naming_each_problem(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Headers,
        user_id: str) -> None:
    headers = as_user(user_id)
    resume_id, _ = await create_resume(resume_api, headers, resume_document())
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"template": "compact", "options": {"font_size": 99, "paper": "a3", "bogus": 1}},
         ["bogus: no such option", "font_size: expected a number of pt from 8 to 14",
          "paper: expected one of a4, letter"]),
        ({"template": "compact", "options": {"accent": "red", "margin": True}},
         ["accent: expected a colour as #rrggbb", "margin: expected a number of mm from 8 to 40"]),
        ({"template": "classic", "options": {"paper": "a4"}}, ["paper: no such option"]),
        ({"template": "compact", "options": {"font_size": 2**70, "x": {"y": -2**70}}},
         ["font_size: expected a number of pt from 8 to 14", "x: no such option"]),
    ]
    for body, problems in cases:
        response = await compile_api.post(f"/compile/{resume_id}", json=body, headers=headers)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_options"
        assert sorted(error["problems"]) == sorted(problems)


def requested(**options: str | float) -> CompileRequested:
    return CompileRequested(job_id="j", owner_id="o", resume_id="r", resume_version=3,
                            template="compact", engine="typst", options=options)


def test_the_reuse_key_holds_the_options_and_old_events_keep_their_key() -> None:
    old = CompileRequested.model_validate({
        "job_id": "j", "owner_id": "o", "resume_id": "r", "resume_version": 3,
        "template": "classic", "engine": "pdflatex", "title": "t"})
    assert old.options == {} and same_source(old) == "r:3:classic"
    assert "options" not in old.model_dump(mode="json")  # written in the older shape
    assert requested(paper="a4").model_dump(mode="json")["options"] == {"paper": "a4"}
    assert same_source(requested(paper="a4", margin=12.0)) == \
        same_source(requested(margin=12.0, paper="a4"))
    assert same_source(requested(paper="a4")) != same_source(requested(paper="letter"))


async def test_the_templates_list_their_engine_one_page_and_options_with_defaults(
        compile_api: httpx.AsyncClient, as_user: Headers, user_id: str) -> None:
    listed = {t["name"]: t for t in
              (await compile_api.get("/compile/templates", headers=as_user(user_id))).json()}
    assert {name: (t["engine"], t["one_page"]) for name, t in listed.items()
            if name in ("classic", "modern", "standard", "compact", "sidebar", "academic")} == {
        "classic": ("pdflatex", False), "modern": ("pdflatex", False),
        "standard": ("typst", False), "compact": ("typst", True),
        "sidebar": ("typst", True), "academic": ("typst", False)}
    assert listed["classic"]["options"] == {}
    assert listed["compact"]["options"] == {
        "accent": {"kind": "color", "default": "#0b6e69"},
        "font_size": {"kind": "number", "unit": "pt", "default": 9, "min": 8, "max": 14},
        "paper": {"kind": "choice", "default": "a4", "choices": ["a4", "letter"]},
        "margin": {"kind": "number", "unit": "mm", "default": 12, "min": 8, "max": 40}}
    for name in ("standard", "sidebar", "academic"):
        assert {"accent", "font_size", "paper", "margin"} <= set(listed[name]["options"]), name
