"""A resume's locale in the PDFs, rendered for real (the `typst` library and pdflatex, the
system's fonts, poppler to read the PDFs back): Arabic, Hebrew and Persian resumes come out
right to left with their text extractable and their ATS round trip whole; dates read in the
locale's words in both engines; a LaTeX template refuses a right-to-left locale with a 422,
and the template listing says which scripts each template shows."""

import re
import subprocess
import unicodedata
from dataclasses import dataclass

import httpx
import pytest

from compile_service import ats
from compile_service.rendering import Renderer
from compile_service.typesetting.typst import Typst
from contracts.resume import ResumeDocument
from tests.integration.compile.conftest import (
    Headers,
    compile_and_wait,
    create_resume,
    pdf_text,
    pdftotext,
)
from tests.samples import arabic, engineer, hebrew, localized, persian, texts

TYPST_TEMPLATES = ("standard", "compact", "sidebar", "academic")
RIGHT_TO_LEFT = {"ar": arabic, "he": hebrew, "fa": persian}


async def typst_pdf(typst: Typst, renderer: Renderer, template: str,
                    document: ResumeDocument) -> bytes:
    return (await typst.compile(renderer.render(template, document).source)).data


def plain(text: str) -> str:
    """Text without whitespace, bidi marks and zero-width joiners, to compare as read."""
    return re.sub("[\\s\u200b-\u200f\u202a-\u202e]", "",
                  unicodedata.normalize("NFKC", text))


@dataclass(frozen=True)
class Word:
    text: str
    x_min: float
    x_max: float
    y_min: float


def words_of(pdf: bytes) -> list[Word]:
    """Page 1's words with their boxes (`pdftotext -bbox`; a right-to-left word's letters
    come in the order they stand on the page, so they are turned back)."""
    html = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", "-", "-"], input=pdf,
                          capture_output=True, check=True).stdout.decode()
    found = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                       r'yMax="[\d.]+">([^<]*)</word>', html)
    return [Word(_reading(text), float(x0), float(x1), float(y0)) for x0, y0, x1, text in found]


def _reading(text: str) -> str:
    rtl = any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)
    return text[::-1] if rtl else text


def word(words: list[Word], text: str) -> Word:
    return next(w for w in words if w.text == text)


@pytest.mark.parametrize("locale", sorted(RIGHT_TO_LEFT))
@pytest.mark.parametrize("template", TYPST_TEMPLATES)
async def test_a_right_to_left_resume_compiles_with_its_text_extractable(
        typst: Typst, renderer: Renderer, template: str, locale: str) -> None:
    document = RIGHT_TO_LEFT[locale]()
    pdf = await typst_pdf(typst, renderer, template, document)
    text = plain(pdftotext(pdf))
    for expected in texts(document):
        assert plain(expected) in text, (template, locale, expected)
    assert f"/Lang({locale})".encode() in pdf
    report = ats.check(pdf, document)  # the dates too, in the locale's words
    assert report.score == 100 and not report.missing, (template, locale, report)


@pytest.mark.parametrize("template", TYPST_TEMPLATES)
async def test_an_arabic_resume_is_laid_out_right_to_left(
        typst: Typst, renderer: Renderer, template: str) -> None:
    """An item's title stands right of its dates (left of them in English), and its bullets
    end near the right edge where its title ends (indented by their markers)."""
    document = arabic()
    words = words_of(await typst_pdf(typst, renderer, template, document))
    title, dates = word(words, "مهندسة"), word(words, "2021")
    assert title.x_min > dates.x_max, (template, title, dates)
    bullet = word(words, "قادت")  # the first word of the first bullet
    assert 0 <= title.x_max - bullet.x_max < 20, (template, bullet, title)
    english = words_of(await typst_pdf(typst, renderer, template, engineer()))
    assert word(english, "Senior").x_max < word(english, "2021").x_min


async def test_the_page_is_mirrored_for_arabic_but_not_for_english(
        typst: Typst, renderer: Renderer) -> None:
    """Standard's section titles start at the text area's start: the right margin in
    Arabic, the left one in English."""
    page_width, margin = 595.276, 18 * 72 / 25.4
    arabic_words = words_of(await typst_pdf(typst, renderer, "standard", arabic()))
    heading = word(arabic_words, "الملخص")  # the first section's title
    assert abs(heading.x_max - (page_width - margin)) < 2, heading
    english = word(words_of(await typst_pdf(typst, renderer, "standard", engineer())),
                   "Experience")
    assert abs(english.x_min - margin) < 2, english


@pytest.mark.parametrize(("locale", "shown"), [
    ("en", ["Mar 2021", "Jan 2018", "Feb 2021"]), ("de", ["März 2021", "Jan. 2018"]),
    ("fr", ["mars 2021", "janv. 2018", "févr. 2021"]), ("de-AT", ["März 2021", "Jän. 2018"]),
    ("xx-YY", ["Mar 2021"])])
async def test_dates_read_in_the_locales_words_in_every_typst_template(
        typst: Typst, renderer: Renderer, locale: str, shown: list[str]) -> None:
    document = localized(engineer(), locale)
    for template in TYPST_TEMPLATES:
        pdf = await typst_pdf(typst, renderer, template, document)
        text = plain(pdftotext(pdf))
        for date in (*shown, "present", "2014"):  # free text and years stay as typed
            assert plain(date) in text, (template, locale, date)
        assert "2021-03" not in text
        report = ats.check(pdf, document)
        assert report.score >= 95 and not report.issues, (template, locale, report)


async def test_latex_templates_show_dates_in_the_locales_words(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Headers,
        user_id: str) -> None:
    headers = as_user(user_id)
    for locale, date in (("en", "Mar 2021"), ("de", "März 2021"), ("fr", "mars 2021")):
        document = localized(engineer(), locale).model_dump(mode="json")
        resume_id, version = await create_resume(resume_api, headers, document)
        for template in ("classic", "modern"):
            job = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                         template=template)
            assert job["status"] == "succeeded", job
            text = await pdf_text(compile_api, headers, job["job_id"])
            assert date in text and "2021-03" not in text, (locale, template)
            assert job["ats"]["score"] >= 95, job["ats"]


async def test_an_arabic_resume_compiles_through_the_api_with_a_typst_template(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Headers,
        user_id: str) -> None:
    headers = as_user(user_id)
    document = arabic().model_dump(mode="json")
    resume_id, version = await create_resume(resume_api, headers, document)
    job = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                 template="sidebar")
    assert job["status"] == "succeeded", job
    assert job["ats"]["score"] >= 95 and job["pages"] == 1, job
    text = plain(await pdf_text(compile_api, headers, job["job_id"]))
    assert plain("ليلى حسن") in text and plain("قادت إعادة كتابة خدمة التوجيه") in text


async def test_a_latex_template_refuses_a_right_to_left_locale_with_a_422(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Headers,
        user_id: str) -> None:
    headers = as_user(user_id)
    for make in RIGHT_TO_LEFT.values():
        document = make().model_dump(mode="json")
        resume_id, _ = await create_resume(resume_api, headers, {**document,
                                                                 "template": "classic"})
        for body in ({"template": "modern"}, {}):  # asked for, or the resume's own
            response = await compile_api.post(f"/compile/{resume_id}", json=body,
                                              headers=headers)
            assert response.status_code == 422, response.text
            error = response.json()["error"]
            assert error["code"] == "unsupported_locale"
            assert error["locale"] == document["locale"]
            assert set(error["templates"]) == set(TYPST_TEMPLATES)
            assert "right to left" in error["message"]


async def test_a_script_no_template_shows_is_refused_by_the_typst_ones_too(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Headers,
        user_id: str) -> None:
    headers = as_user(user_id)
    document = localized(engineer(), "ja").model_dump(mode="json")
    resume_id, _ = await create_resume(resume_api, headers, document)
    response = await compile_api.post(f"/compile/{resume_id}", json={"template": "compact"},
                                      headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "unsupported_locale"
    assert response.json()["error"]["templates"] == []


async def test_the_template_listing_names_the_scripts_each_template_shows(
        compile_api: httpx.AsyncClient, as_user: Headers, user_id: str) -> None:
    response = await compile_api.get("/compile/templates", headers=as_user(user_id))
    assert response.status_code == 200, response.text
    languages = {t["name"]: t["languages"] for t in response.json()}
    for name in ("classic", "modern"):
        assert languages[name] == {"scripts": ["Latn"], "right_to_left": False}
    for name in TYPST_TEMPLATES:
        assert {"Latn", "Arab", "Hebr", "Cyrl", "Grek"} <= set(languages[name]["scripts"])
        assert languages[name]["right_to_left"] is True
