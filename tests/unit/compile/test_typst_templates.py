"""The Typst templates as files and data, without rendering: what is discovered, what each
declares, that the folder Typst may read holds nothing that would reach outside it, and that
a Typst template's source is the resume as JSON data."""

import json
import re
import shutil
from pathlib import Path

import pytest

from compile_service.domain import InvalidOptions
from compile_service.rendering import (
    BUILTIN_TEMPLATES,
    TYPST_ENGINE,
    TYPST_FOLDER,
    Renderer,
    discover_templates,
)
from compile_service.typesetting.typst import Typst
from tests.samples import engineer

TYPST_ROOT = (BUILTIN_TEMPLATES / TYPST_FOLDER).resolve()
ONE_PAGE = {"standard": False, "compact": True, "sidebar": True, "academic": False}


def test_four_typst_templates_beside_the_two_latex_ones() -> None:
    templates = discover_templates([BUILTIN_TEMPLATES])
    assert {n for n, t in templates.items() if t.engine == "pdflatex"} == {"classic", "modern"}
    assert {n: t.one_page for n, t in templates.items() if t.engine == TYPST_ENGINE} == ONE_PAGE
    assert Typst.name == TYPST_ENGINE


def test_each_typst_template_declares_its_options_fonts_and_root() -> None:
    for name, template in discover_templates([BUILTIN_TEMPLATES]).items():
        if template.engine != TYPST_ENGINE:
            assert template.options == {} and template.root is None
            continue
        assert set(template.options) == {"accent", "font_size", "paper", "margin"}, name
        assert template.options["paper"].choices == ("a4", "letter")  # type: ignore[union-attr]
        assert template.fonts and template.root == TYPST_ROOT
        assert (template.root / template.filename).is_file()
        assert template.description and len(template.digest) == 64


def test_the_folder_typst_reads_has_no_link_out_and_no_way_to_code_or_files() -> None:
    """Typst follows symbolic links out of its root, downloads `@preview` packages, and
    `eval` would run a string as code: none of them may appear."""
    for path in TYPST_ROOT.rglob("*"):
        assert not path.is_symlink(), path
    sources = {p: p.read_text() for p in TYPST_ROOT.rglob("*.typ")}
    assert len(sources) == 5  # four templates and the shared helpers
    for path, source in sources.items():
        code = "\n".join(line.split("//")[0] for line in source.splitlines())
        assert not re.search(r"import\s+\"@|include\s|\beval\(|\bread\(|\bimage\(|\bplugin\(",
                             code), path
        assert "sys.inputs" not in code or path.name == "resume.typ", path


def test_a_typst_source_is_the_resume_the_options_and_the_locale_as_json() -> None:
    document = engineer()
    rendered = Renderer([BUILTIN_TEMPLATES]).render("compact", document, {"paper": "letter"})
    data = json.loads(rendered.source)
    assert data["template"]["name"] == "compact"
    assert data["options"] == {"accent": "#0b6e69", "font_size": 9.0, "paper": "letter",
                               "margin": 12.0}
    assert data["locale"] == {"tag": "en", "lang": "en", "region": None, "dir": "ltr",
                              "script": "Latn", "fonts": []}
    shown = document.model_dump(mode="json")
    first = shown["sections"][1]["items"][0]
    first["start_date"] = "Mar 2021"  # typed 2021-03; "present" stays as typed
    shown["sections"][1]["items"][1].update(start_date="Jan 2018", end_date="Feb 2021")
    shown["sections"][1]["items"][2].update(start_date="Sep 2016", end_date="Dec 2017")
    assert data["resume"] == shown


def test_typst_options_are_checked_and_latex_templates_take_none() -> None:
    renderer = Renderer([BUILTIN_TEMPLATES])
    with pytest.raises(InvalidOptions):
        renderer.render("compact", engineer(), {"font_size": 100})
    with pytest.raises(InvalidOptions):
        renderer.render("classic", engineer(), {"accent": "#000000"})
    assert renderer.render("classic", engineer(), None).source.startswith("\\documentclass")


def test_a_change_to_any_file_of_the_typst_folder_is_a_new_content_address(
        tmp_path: Path) -> None:
    shutil.copytree(BUILTIN_TEMPLATES / TYPST_FOLDER, tmp_path / TYPST_FOLDER)
    before = Renderer([tmp_path]).render("standard", engineer()).content_key("typst/x")
    helpers = tmp_path / TYPST_FOLDER / "lib" / "resume.typ"
    helpers.write_text(helpers.read_text() + "\n// changed\n")
    after = Renderer([tmp_path]).render("standard", engineer()).content_key("typst/x")
    assert before != after


def test_a_folder_without_main_typ_or_with_a_bad_name_is_no_template(tmp_path: Path) -> None:
    manifest = (TYPST_ROOT / "compact" / "template.toml").read_text()
    for folder in ("no-main", "Bad Name"):
        (tmp_path / TYPST_FOLDER / folder).mkdir(parents=True)
        (tmp_path / TYPST_FOLDER / folder / "template.toml").write_text(manifest)
    (tmp_path / TYPST_FOLDER / "Bad Name" / "main.typ").write_text("x")
    assert discover_templates([tmp_path]) == {}
