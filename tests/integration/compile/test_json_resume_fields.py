"""Every template shows what a JSON Resume document holds beyond the fields the templates
always had (contracts.presentation): the headline, the summary, the address, the
website and profiles, and each entry's courses, roles, keywords, score and URL, as text a
reader of the PDF finds."""

import asyncio
import subprocess

import pytest

from compile_service import ats
from compile_service.rendering import Renderer
from compile_service.typesetting.engine import Engine
from contracts.presentation import shown_document
from resume_service.json_resume import from_json_resume
from tests import json_resume_package as package
from tests.integration.compile import test_ats
from tests.integration.compile.test_ats import LATEX_TEMPLATES, TYPST_TEMPLATES, pdf_of

engines = test_ats.engines  # the same fixture

SAMPLE = from_json_resume(package.load("sample.resume.json"))
SHOWN = ["Programmer", "Richard hails from Tulsa", "2712 Broadway St",
         "richardhendricks.example.com", "Twitter: neutralthoughts", "Awesome compression",
         "DB1101 - Basic SQL", "Team lead, Designer", "GoogleMaps, Chrome Extension", "4.0",
         "missdirection.example.com", "Native speaker", "Erlich Bachman"]


def squeezed(text: str) -> str:
    """Without white space: a word longer than a line may break where it has none."""
    return "".join(text.split())


@pytest.mark.parametrize("template", TYPST_TEMPLATES + LATEX_TEMPLATES)
async def test_every_template_shows_the_json_resume_fields(
        engines: dict[str, Engine], renderer: Renderer, template: str) -> None:
    document = SAMPLE.model_copy(update={"template": template})
    pdf = await pdf_of(engines, renderer, template, document)
    extracted = await asyncio.to_thread(subprocess.run, ["pdftotext", "-", "-"], input=pdf,
                                        capture_output=True, check=True)
    text = squeezed(extracted.stdout.decode())
    missing = [shown for shown in SHOWN if squeezed(shown) not in text]
    assert missing == [], (template, missing)
    report = await ats.check_async(pdf, document)
    assert report.score >= 95 and report.issues == [], (template, report)


def test_the_summary_section_shown_is_the_same_every_time() -> None:
    """Its ids are fixed: the same document renders the same source (its content key)."""
    first, again = shown_document(SAMPLE), shown_document(SAMPLE)
    assert first.sections[0].title == "Summary" and first == again
