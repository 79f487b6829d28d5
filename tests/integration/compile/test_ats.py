"""The ATS round trip on real PDFs: every template (the four Typst ones through the Typst
engine, the two LaTeX ones through pdflatex) reads back the sample resumes at 95 or more;
the same resume drawn as outlines or shown as an image scores 0 with `no_text`; two columns
written line by line across the page score low with `reading_order`, while the very same
page written column after column reads in order."""

import json
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import typst as typst_compiler

from compile_service import ats
from compile_service.ats import IssueCode
from compile_service.rendering import TYPST_ENGINE, Renderer
from compile_service.settings import CompileSettings
from compile_service.typesetting.engine import Engine
from compile_service.typesetting.latex import PdfLatex
from compile_service.typesetting.sandbox import Limits
from compile_service.wiring import make_typst
from contracts.resume import ResumeDocument
from tests.samples import academic, engineer

TYPST_TEMPLATES = ("standard", "compact", "sidebar", "academic")
LATEX_TEMPLATES = ("classic", "modern")


@pytest.fixture(scope="module")
async def engines(renderer: Renderer, tmp_path_factory: pytest.TempPathFactory,
                  ) -> AsyncIterator[dict[str, Engine]]:
    work = str(tmp_path_factory.mktemp("ats-runs"))
    typst = make_typst(CompileSettings(compile_timeout_seconds=10, compile_work_dir=work),
                       renderer)
    yield {TYPST_ENGINE: typst, "pdflatex": PdfLatex(limits=Limits(wall_seconds=20),
                                                     work_root=work)}
    typst.close()


async def pdf_of(engines: dict[str, Engine], renderer: Renderer, template: str,
                 document: ResumeDocument) -> bytes:
    rendered = renderer.render(template, document)
    return (await engines[rendered.template.engine].compile(rendered.source)).data


@pytest.mark.parametrize("template", TYPST_TEMPLATES + LATEX_TEMPLATES)
async def test_every_template_reads_back_both_samples_in_order(
        engines: dict[str, Engine], renderer: Renderer, template: str) -> None:
    for document in (engineer(), academic()):
        report = await ats.check_async(await pdf_of(engines, renderer, template, document),
                                       document)
        assert report.score >= 95, (template, report)
        assert report.checked > 60 and report.issues == [], (template, report)


def typst_pdf(folder: Path, source: str, files: dict[str, bytes] | None = None) -> bytes:
    """A one-off Typst document (with files beside it) in `folder`."""
    folder.mkdir(exist_ok=True)
    for name, data in (files or {}).items():
        (folder / name).write_bytes(data)
    (folder / "main.typ").write_text(source, encoding="utf-8")
    pdf = typst_compiler.compile(folder / "main.typ", root=folder)
    assert isinstance(pdf, bytes)
    return pdf


def converted(pdf: bytes, *command: str) -> bytes:
    """`pdf` through a poppler converter, from stdin to stdout."""
    return subprocess.run(command, input=pdf, capture_output=True, check=True).stdout


A4 = "#set page(width: 595.276pt, height: 841.89pt, margin: 0pt)\n"


@pytest.mark.parametrize("drawn_as", ["outlines", "image"])
async def test_a_resume_without_a_text_layer_scores_0_with_no_text(
        engines: dict[str, Engine], renderer: Renderer, tmp_path: Path, drawn_as: str) -> None:
    document = engineer()
    pdf = await pdf_of(engines, renderer, "standard", document)
    assert ats.check(pdf, document).score == 100  # the page as made
    if drawn_as == "outlines":  # cairo's SVG draws each glyph as a path; Typst keeps them so
        page = {"page.svg": converted(pdf, "pdftocairo", "-svg", "-l", "1", "-", "-")}
    else:
        page = {"page.png": converted(pdf, "pdftoppm", "-png", "-r", "100", "-singlefile", "-")}
    redrawn = typst_pdf(tmp_path, A4 + f'#image("{next(iter(page))}", width: 100%)', page)
    report = ats.check(redrawn, document)
    assert report.score == 0 and report.found == 0
    assert report.codes() == [IssueCode.NO_TEXT] and "outlines" in report.issues[0]
    assert report.missing[0] == "contact.name"


def lines_of(document: ResumeDocument, sections: range) -> list[str]:
    """The text of some sections, one line per unit, as a template would show them."""
    lines = []
    for section in (document.sections[n] for n in sections):
        lines.append(section.title)
        for item in section.items:
            head = [item.title, item.subtitle, item.location, item.start_date, item.end_date]
            lines += [", ".join(x for x in head if x), item.description, *item.bullets]
    return [line for line in lines if line]


def two_columns(document: ResumeDocument, interleaved: bool) -> str:
    """A page with the header on top, then two columns placed line by line: the first half
    of the sections on the left, the rest on the right; written left line, right line, ...
    (interleaved) or the whole left column before the right one. Both look the same."""
    half = len(document.sections) // 2
    left = lines_of(document, range(half))
    right = lines_of(document, range(half, len(document.sections)))

    def placed(column: int, row: int, line: str) -> str:
        return (f"#place(top + left, dx: {10 + column * 205}mm, dy: {30 + row * 4.5}mm, "
                f"box(width: 195mm, text({json.dumps(line, ensure_ascii=False)})))\n")

    contact = document.contact
    header = [contact.name, " • ".join([contact.email, contact.phone, contact.location,
                                        *(link.label for link in contact.links)])]
    source = "#set page(width: 420mm, height: 297mm, margin: 0pt)\n#set text(size: 8pt)\n"
    source += "".join(placed(0, row - 5, line) for row, line in enumerate(header))
    pieces = [(0, r, x) for r, x in enumerate(left)] + [(1, r, x) for r, x in enumerate(right)]
    if interleaved:
        pieces.sort(key=lambda piece: (piece[1], piece[0]))
    return source + "".join(placed(*piece) for piece in pieces)


async def test_two_columns_written_across_the_page_score_low_with_reading_order(
        tmp_path: Path) -> None:
    document = engineer()
    in_order = ats.check(typst_pdf(tmp_path / "a", two_columns(document, False)), document)
    assert in_order.score == 100, in_order
    interleaved = ats.check(typst_pdf(tmp_path / "b", two_columns(document, True)), document)
    assert IssueCode.READING_ORDER in interleaved.codes()
    assert interleaved.score < 70, interleaved
    columns = {int(path.split(".")[1]) >= 3 for path in interleaved.missing
               if path.startswith("sections.")}
    assert columns == {False, True}  # fields of both columns came out of order


async def test_poppler_started_ahead_reads_as_a_fresh_start_and_keeps_one_pair_ready(
        engines: dict[str, Engine], renderer: Renderer) -> None:
    document = engineer()
    pdf = await pdf_of(engines, renderer, "sidebar", document)
    ready = ats.ReadyPoppler()
    try:
        fresh = ats.check(pdf, document)
        assert ats.check(pdf, document, ready=ready) == fresh  # none ready yet: started then
        spare = _spare_of(ready)
        assert ats.check(pdf, document, ready=ready) == fresh  # the spare, given the PDF
        assert all(process.returncode is not None for process in spare)
        assert _spare_of(ready) != spare
        assert ats.check(b"not a pdf", document, ready=ready).codes() == [
            IssueCode.UNREADABLE_PDF]
    finally:
        ready.close()
    assert all(process.returncode is not None for process in spare + _spares(ready))


def _spares(ready: ats.ReadyPoppler) -> list[Any]:
    return [process for pair in ready._ready for process in pair]


def _spare_of(ready: ats.ReadyPoppler, timeout: float = 5.0) -> list[Any]:
    """The pair started in the background after the last check, once it is there."""
    deadline = time.monotonic() + timeout
    while not ready._ready:
        assert time.monotonic() < deadline, "no spare started"
        time.sleep(0.01)
    return list(ready._ready[0])
