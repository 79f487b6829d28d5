"""The Typst engine and the four Typst templates, rendering for real (the `typst` library,
the system's fonts, poppler to read the PDFs back): the text of each sample resume comes
out; user text comes out literally, however much it looks like Typst; Typst reads nothing
outside its root; pages and overflow are right; renders run side by side, each with its own
data, within a time limit."""

import asyncio
import subprocess
from pathlib import Path

import httpx
import pytest

from compile_service.rendering import TYPST_ENGINE, Renderer
from compile_service.typesetting.engine import (
    CompiledPdf,
    CompileFailed,
    EngineUnavailable,
    Overflow,
)
from compile_service.typesetting.typst import Typst, TypstTemplate
from contracts.resume import Contact, Item, Link, ResumeDocument, Section
from tests.integration.compile.conftest import (
    Headers,
    compile_and_wait,
    create_resume,
    pdf_pages,
    pdf_text,
    pdftotext,
    resume_document,
    unique,
)
from tests.samples import academic, engineer, texts

TEMPLATES = ("standard", "compact", "sidebar", "academic")
A4_TEXT_AREA_PT = 841.89 - 2 * 12 * 72 / 25.4  # compact's default margin is 12 mm


async def render(typst: Typst, renderer: Renderer, template: str, document: ResumeDocument,
                 options: dict[str, object] | None = None) -> CompiledPdf:
    return await typst.compile(renderer.render(template, document, options).source)


def words(text: str) -> str:
    return " ".join(text.split())


def unspaced(text: str) -> str:
    return "".join(text.split())


def written_text(pdf: bytes) -> str:
    """The text in the order Typst wrote it (poppler's `-raw`): a title that wraps beside
    its dates stays whole, and a line broken after a hyphen keeps the hyphen (the reading
    order interleaves the first and drops the second, as it would for any PDF)."""
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-raw", "-", "-"], input=pdf,
                          capture_output=True, check=True).stdout.decode()


@pytest.mark.parametrize("template", TEMPLATES)
async def test_each_template_shows_every_text_of_both_samples(
        typst: Typst, renderer: Renderer, template: str) -> None:
    for document in (engineer(), academic()):
        pdf = await render(typst, renderer, template, document)
        text = words(pdftotext(pdf.data))
        for expected in texts(document):
            assert words(expected) in text, (template, expected)
        assert pdf.pages == pdf_pages(pdf.data)


async def test_the_fonts_are_the_system_packages_embedded(typst: Typst,
                                                          renderer: Renderer) -> None:
    for template, font in (("standard", "LMRoman10"), ("compact", "DejaVuSans")):
        pdf = await render(typst, renderer, template, engineer())
        fonts = pdffonts(pdf.data)
        assert font in fonts
        assert all(" yes yes yes " in line for line in fonts.splitlines()[2:]), fonts


# Typst markup, code and math that must never act: every text field carries them.
INJECTION_CORPUS = [
    "#", "[", "]", "$", "\\", "@", "<label>", '#import "x"', '#read("/etc/passwd")',
    '#include "main.typ"', '#eval("1 + 1")', "#{1 + 1}", "$x^2$", "*bold* _emph_ `raw`",
    "= not a heading", "- not a list", "+ not an enum", "// not a comment", "/* nor */",
    "#set page(width: 1cm)", "#show: none", "@ada <ada>", "\\u{41} \\n", "a -- b ... c",
    '"quoted" \'single\'', "~tilde", "#sys.inputs", '#json("/etc/passwd")',
]


PASSWD_FIRST_LINE = Path("/etc/passwd").read_text().splitlines()[0]


def everywhere(text: str) -> ResumeDocument:
    """A resume with `text` in each field that is shown (dates are at most 32 characters)."""
    short = text[:32]
    return ResumeDocument(
        title=text, contact=Contact(name=f"Eve {text}", email=f"eve{text}@x.org",
                                    phone=short, location=text,
                                    links=[Link(label=text, url="https://e.org/#[x]")]),
        sections=[Section(title=f"S {text}", kind="experience", items=[Item(
            title=f"T {text}", subtitle=f"U {text}", location=f"L {text}",
            start_date=short, end_date=short, description=f"D {text}",
            bullets=[f"B {text}"])]),
            Section(title=f"K {text}", kind="skills", items=[Item(
                title=f"I {text}", bullets=[f"J {text}"])]),
            Section(title=f"P {text}", kind="publications", items=[Item(
                title=f"Q {text}", subtitle=f"V {text}", start_date=short)])])


@pytest.mark.parametrize("template", TEMPLATES)
async def test_the_injection_corpus_comes_out_literally_in_every_field(
        typst: Typst, renderer: Renderer, template: str) -> None:
    for entry in INJECTION_CORPUS:
        pdf = await render(typst, renderer, template, everywhere(entry))
        text = written_text(pdf.data)
        # without whitespace: lines may wrap inside an entry (after a "/", say), and poppler
        # guesses spaces from gaps (Typst writes none), missing some in a two-word line
        solid = unspaced(text)
        for prefix in ("Eve", "S", "T", "U", "L", "D", "B", "K", "I", "J", "P", "Q", "V"):
            assert unspaced(prefix + entry) in solid, (template, prefix, entry)
        assert solid.count(unspaced(entry)) >= 17, (template, entry)  # contact fields too
        assert PASSWD_FIRST_LINE not in text and "root:" not in text


@pytest.mark.parametrize("template", TEMPLATES)
async def test_very_long_words_wrap_whole_instead_of_running_off_the_page(
        typst: Typst, renderer: Renderer, template: str) -> None:
    word = "Supercalifragilistic" * 12
    url_like = "https://example.com/" + "a-very-long-path/" * 10
    document = engineer()
    item = document.sections[1].items[0]
    item.bullets = [f"before {word} after", url_like, "é" * 150 + " and " + "😀" * 40]
    item.title = "T" * 200
    pdf = await render(typst, renderer, template, document)
    solid = unspaced(written_text(pdf.data))
    for expected in (word, url_like, "é" * 150, "T" * 200):
        assert expected in solid, (template, expected[:20])


async def test_a_one_page_resume_fits_and_a_three_page_one_overflows_by_its_length(
        typst: Typst, renderer: Renderer) -> None:
    fits = await render(typst, renderer, "compact", engineer())
    assert (fits.pages, fits.overflow) == (1, Overflow(overflowed=False))
    long = await render(typst, renderer, "compact", academic(48))
    assert long.pages == pdf_pages(long.data) == 3
    assert long.overflow is not None and long.overflow.overflowed
    assert long.overflow.extra_pages == 2
    assert A4_TEXT_AREA_PT < long.overflow.past_pt < 2 * A4_TEXT_AREA_PT
    longer = await render(typst, renderer, "compact", academic(49))
    assert longer.overflow is not None
    assert 15 < longer.overflow.past_pt - long.overflow.past_pt < 60  # one more publication


async def test_multi_page_templates_count_pages_and_report_no_overflow(
        typst: Typst, renderer: Renderer) -> None:
    for template in ("academic", "standard"):
        cv = await render(typst, renderer, template, academic())
        assert cv.pages == pdf_pages(cv.data) == 3 and cv.overflow is None, template
        assert "3/3" in unspaced(pdftotext(cv.data)) or template == "standard"


async def test_options_set_the_paper_the_size_the_margin_and_the_colour(
        typst: Typst, renderer: Renderer) -> None:
    default = await render(typst, renderer, "standard", engineer())
    letter = await render(typst, renderer, "standard", engineer(), {"paper": "letter"})
    assert "612 x 792 pts (letter)" in pdfinfo(letter.data)
    assert "595.276 x 841.89 pts (A4)" in pdfinfo(default.data)
    bigger = await render(typst, renderer, "standard", engineer(),
                          {"font_size": 14, "margin": 40})
    assert bigger.pages == 2 and default.pages == 1
    red = await render(typst, renderer, "standard", engineer(), {"accent": "#ff0000"})
    assert red.data != default.data


def pdffonts(pdf: bytes) -> str:
    return subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def pdfinfo(pdf: bytes) -> str:
    return subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


async def test_renders_side_by_side_each_keep_their_own_data(typst: Typst,
                                                             renderer: Renderer) -> None:
    names = [unique("Person") for _ in range(8)]
    documents = [engineer().model_copy(update={"contact": Contact(name=n)}) for n in names]
    pdfs = await asyncio.gather(*[render(typst, renderer, TEMPLATES[i % 4], d)
                                  for i, d in enumerate(documents)])
    for name, pdf in zip(names, pdfs, strict=True):
        assert name in pdftotext(pdf.data)
        assert not any(other in pdftotext(pdf.data) for other in names if other != name)


def folder_template(tmp_path: Path, source: str) -> tuple[Typst, str]:
    """A one-off Typst engine over a template folder of the test's own."""
    root = tmp_path / "root"
    (root / "t").mkdir(parents=True)
    (root / "t" / "main.typ").write_text(source)
    engine = Typst({"t": TypstTemplate(root, root / "t" / "main.typ")},
                   work_root=str(tmp_path / "work"))
    return engine, '{"template":{"name":"t"}}'


@pytest.mark.parametrize("path", ["/etc/passwd", "../../secret.txt", "/../secret.txt",
                                  "/../../../../../../../etc/passwd"])
async def test_typst_reads_no_file_outside_its_root(tmp_path: Path, path: str) -> None:
    engine, source = folder_template(tmp_path, f'#read("{path}")')
    await engine.warm_up()
    assert engine.run_dir is not None
    (engine.run_dir / "secret.txt").write_text("beside the root")  # where ".." would reach
    with pytest.raises(CompileFailed) as failure:
        await engine.compile(source)
    assert "not found" in str(failure.value) or "outside" in str(failure.value)
    assert str(tmp_path) not in str(failure.value)  # no server path in the user's message
    engine.close()
    assert not engine.run_dir.exists()


async def test_typst_reads_the_copy_of_the_template_folder_made_when_it_warmed_up(
        tmp_path: Path) -> None:
    """What it renders is the folder as it was when the engine warmed up (the renderer's
    content addresses hash the files as they were when it started)."""
    engine, source = folder_template(tmp_path, "before")
    await engine.warm_up()
    (tmp_path / "root" / "t" / "main.typ").write_text("after")
    with pytest.raises(EngineUnavailable, match="rb-layout"):  # rendered "before", no marker
        await engine.compile(source)
    assert engine.run_dir is not None
    assert (engine.run_dir / "root-0" / "t" / "main.typ").read_text() == "before"
    engine.close()


async def test_a_template_error_is_a_readable_compile_failure(tmp_path: Path) -> None:
    engine, source = folder_template(tmp_path, "#let x = (1 +")
    with pytest.raises(CompileFailed, match="Typst reported an error"):
        await engine.compile(source)


async def test_a_template_without_the_layout_marker_is_the_operators_problem(
        tmp_path: Path) -> None:
    engine, source = folder_template(tmp_path, "Hello")
    with pytest.raises(EngineUnavailable, match="rb-layout"):
        await engine.compile(source)


async def test_a_missing_font_is_the_operators_problem(tmp_path: Path) -> None:
    engine, source = folder_template(tmp_path, "Hello")
    engine.templates["t"] = TypstTemplate(tmp_path / "root", tmp_path / "root" / "t" /
                                          "main.typ", fonts=("No Such Font",))
    with pytest.raises(EngineUnavailable, match="No Such Font"):
        await engine.compile(source)


async def test_a_render_past_the_time_limit_fails_and_one_that_never_started_is_retried(
        tmp_path: Path) -> None:
    """A render cannot be stopped: its job fails at the limit while it finishes in the
    background, holding the only slot, so the job queued behind it never starts."""
    engine, source = folder_template(tmp_path, "#let x = 0\n#for i in range(4000000) { x += 1 }")
    engine = Typst(engine.templates, concurrency=1, timeout_seconds=0.2,
                   work_root=engine.work_root)
    first = asyncio.ensure_future(engine.compile(source))
    await asyncio.sleep(0)  # the first takes the only slot before the second asks
    second = asyncio.ensure_future(engine.compile(source))
    with pytest.raises(CompileFailed, match="0.2 s time limit"):
        await first
    with pytest.raises(EngineUnavailable, match="no Typst slot"):
        await second
    engine.close()


async def test_a_typst_template_compiles_through_the_api(
        compile_api: httpx.AsyncClient, resume_api: httpx.AsyncClient, as_user: Headers,
        user_id: str) -> None:
    """Wired beside pdflatex: listed, compiled by the job worker, its PDF served."""
    headers = as_user(user_id)
    listed = (await compile_api.get("/compile/templates", headers=headers)).json()
    assert {t["name"]: t["engine"] for t in listed if t["engine"] == TYPST_ENGINE} == {
        t: TYPST_ENGINE for t in TEMPLATES}
    name = unique("Ada")
    resume_id, version = await create_resume(resume_api, headers, resume_document(name))
    job = await compile_and_wait(compile_api, headers, resume_id, version=version,
                                 template="sidebar")
    assert job["status"] == "succeeded", job
    assert job["engine"] == TYPST_ENGINE and job["timings"]["engine_ms"] is not None
    text = await pdf_text(compile_api, headers, job["job_id"])
    assert name in text and "Computed Bernoulli numbers" in text
