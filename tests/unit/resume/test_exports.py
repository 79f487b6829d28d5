"""The export renderers, pure functions of the document: each shows every field's text in
document order; Markdown escapes user text so it parses (CommonMark, by markdown-it) to the
structure the renderer made and nothing else; DOCX read back by python-docx has Word's
headings, list paragraphs and hyperlinks."""

import io
import re
import zipfile

import docx
import pytest
from docx.oxml.ns import qn
from markdown_it import MarkdownIt
from markdown_it.token import Token

from contracts.interchange import NativeExport
from contracts.resume import (
    DOCUMENT_SCHEMA_VERSION,
    Contact,
    Item,
    Link,
    ResumeDocument,
    Section,
)
from resume_service.exports import docx as word
from resume_service.exports import markdown, text
from resume_service.exports.formats import EXPORTERS
from resume_service.exports.outline import paragraphs
from tests.samples import academic, engineer, every_field, field_texts

SAMPLES = [every_field(), engineer(), academic(6)]
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def flat(value: str) -> str:
    return " ".join(value.split())


def assert_in_order(output: str, expected: list[str]) -> None:
    """Each expected text (blanks and line breaks read as one space) is found after the one
    before it."""
    haystack, position = flat(output), 0
    for wanted in map(flat, expected):
        found = haystack.find(wanted, position)
        assert found >= 0, f"{wanted!r} not found after {haystack[position:position + 80]!r}"
        position = found + len(wanted)


def urls(document: ResumeDocument) -> list[str]:
    return [f"mailto:{document.contact.email}", *(link.url for link in document.contact.links)]


def without_urls(document: ResumeDocument) -> list[str]:
    return [t for t in field_texts(document) if t not in urls(document)]


# -- Markdown ---------------------------------------------------------------------------------

def commonmark() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def inline_text(tokens: list[Token]) -> str:
    """The text a reader of the rendered Markdown sees, block by block."""
    shown = []
    for token in tokens:
        if token.type == "inline":
            shown.append("".join(child.content if child.type in ("text", "code_inline")
                                 else " " for child in token.children or []))
    return "\n".join(shown)


@pytest.mark.parametrize("document", SAMPLES, ids=["every_field", "engineer", "academic"])
def test_markdown_shows_every_field_in_order(document: ResumeDocument) -> None:
    rendered = markdown.render(document)
    assert_in_order(_ESCAPED.sub(r"\1", rendered), field_texts(document))
    assert_in_order(inline_text(commonmark().parse(rendered)), without_urls(document))


def test_markdown_structure_is_only_what_the_renderer_made() -> None:
    document = every_field()
    tokens = commonmark().parse(markdown.render(document))
    headings = [(t.tag, inline_text([tokens[n + 1]])) for n, t in enumerate(tokens)
                if t.type == "heading_open"]
    items = [i for s in document.sections for i in s.items]
    assert headings == [("h1", document.contact.name),
                        *[(tag, title) for s in document.sections for tag, title in
                          [("h2", s.title), *[("h3", i.title) for i in s.items if i.title]]]]
    inline = [child for t in tokens if t.type == "inline" for child in t.children or []]
    links = [child.attrs["href"] for child in inline if child.type == "link_open"]
    assert links == urls(document)
    kinds = {t.type for t in [*tokens, *inline]}
    assert not kinds & {"html_block", "html_inline", "code_block", "fence", "code_inline",
                        "strong_open", "s_open", "table_open", "ordered_list_open",
                        "blockquote_open", "hr", "image"}
    assert sum(t.type == "em_open" for t in inline) == sum(1 for i in items
                                                          if i.subtitle or i.start_date)
    assert sum(t.type == "list_item_open" for t in tokens) == sum(len(i.bullets) for i in items)


@pytest.mark.parametrize("nasty", [
    "# heading", "- item", "+ item", "* item", "1. first", "2) second", "> quote", "===",
    "---", "***", "    code", "`code`", "*em* and _em_", "**strong**", "~~gone~~",
    "[a](https://x.example)", "![img](x.png)", "<b>html</b>", "<https://auto.example>",
    "&amp; &#65;", "a | b | c", "\\* escaped", "$x^2$", "[^1] footnote", "trailing \\",
])
def test_markdown_escapes_user_text_into_plain_text(nasty: str) -> None:
    tokens = commonmark().parse(markdown.escape(nasty))
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
    assert [c.type for c in tokens[1].children or []] == ["text"]
    assert tokens[1].content.replace("\\", "") == nasty.strip().replace("\\", "")
    assert inline_text(tokens) == nasty.strip()


def test_markdown_links_whose_url_has_parentheses_keep_them() -> None:
    document = ResumeDocument(contact=Contact(links=[
        Link(label="Wiki", url="https://en.wikipedia.org/wiki/Ada_(language)")]))
    tokens = commonmark().parse(markdown.render(document))
    hrefs = [c.attrs["href"] for t in tokens for c in t.children or []
             if c.type == "link_open"]
    assert hrefs == ["https://en.wikipedia.org/wiki/Ada_(language)"]


# -- text ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("document", SAMPLES, ids=["every_field", "engineer", "academic"])
def test_text_shows_every_field_in_order(document: ResumeDocument) -> None:
    assert_in_order(text.render(document), field_texts(document))


def test_text_lists_bullets_as_dash_lines_under_underlined_titles() -> None:
    lines = text.render(engineer()).splitlines()
    assert lines[:2] == ["Maria Schmidt", "============="]
    assert "- Designed the event-sourced shipment ledger used by 40 teams" in lines
    experience = lines.index("Experience")
    assert lines[experience + 1] == "----------"


# -- DOCX ---------------------------------------------------------------------------------------

def read_docx(document: ResumeDocument) -> docx.document.Document:
    return docx.Document(io.BytesIO(word.render(document)))


@pytest.mark.parametrize("document", SAMPLES, ids=["every_field", "engineer", "academic"])
def test_docx_has_word_structures_and_every_field_in_order(document: ResumeDocument) -> None:
    read = read_docx(document)
    styled = [(p.style.name if p.style else "", p.text) for p in read.paragraphs]
    assert styled[0] == ("Title", document.contact.name)
    assert [t for s, t in styled if s == "Heading 1"] == [s.title for s in document.sections]
    bullets = [b for s in document.sections for i in s.items for b in i.bullets]
    assert [t for s, t in styled if s == "List Bullet"] == [_NOT_XML.sub("", b)
                                                           for b in bullets]
    hyperlinks = [(h.text, h.address) for p in read.paragraphs for h in p.hyperlinks]
    assert hyperlinks == list(zip([document.contact.email,
                                   *(link.label for link in document.contact.links)],
                                  urls(document), strict=True))
    assert_in_order("\n".join(t for _, t in styled),
                    [_NOT_XML.sub("", t) for t in without_urls(document)])
    assert read.core_properties.title == document.title


def test_docx_item_titles_are_bold_and_links_styled() -> None:
    read = read_docx(engineer())
    entry = next(p for p in read.paragraphs if p.text.startswith("Senior Backend Engineer"))
    assert entry.runs[0].bold and entry.runs[0].text == "Senior Backend Engineer"
    link_runs = [r for p in read.paragraphs for h in p.hyperlinks for r in h.runs]
    assert link_runs and all(r.style is not None and r.style.name == "Hyperlink"
                             for r in link_runs)


def test_docx_drops_characters_xml_cannot_hold() -> None:
    document = ResumeDocument(contact=Contact(name="A\x01B\x1f\ufffe"), sections=[Section(
        title="S\x0b", items=[Item(title="T\x08", bullets=["b\x0c"])])])
    read = read_docx(document)
    assert [p.text for p in read.paragraphs] == ["AB", "S", "T", "b"]


def test_docx_holds_only_the_styles_it_uses_and_no_picture_of_another_document() -> None:
    package = zipfile.ZipFile(io.BytesIO(word.render(engineer())))
    names = set(package.namelist())
    assert not {n for n in names if "thumbnail" in n or "stylesWithEffects" in n
                or n.startswith("customXml/")}
    styles = docx.Document(io.BytesIO(word.render(engineer()))).styles
    defined = {style.style_id for style in styles}
    assert {"Normal", "Title", "Heading1", "ListBullet", "Hyperlink"} <= defined
    assert len(defined) < 15
    referred = {reference.get(qn("w:val")) for style in styles for tag in (
        "w:basedOn", "w:link", "w:next") if (reference := style.element.find(qn(tag))) is not None}
    assert referred <= defined  # nothing refers to a style that is gone
    assert {"Heading1Char", "TitleChar"} <= referred


# -- the rest -----------------------------------------------------------------------------------

def test_native_export_reads_back_as_the_same_document() -> None:
    document = every_field()
    exported = NativeExport.model_validate_json(EXPORTERS["native"].render(document))
    assert exported.format == "resume-builder"
    assert exported.schema_version == DOCUMENT_SCHEMA_VERSION
    assert exported.document == document


def test_an_empty_document_exports_in_every_format() -> None:
    for exporter in EXPORTERS.values():
        assert exporter.render(ResumeDocument())


def test_description_paragraphs_split_at_blank_lines_only() -> None:
    assert paragraphs("a\nb\n\n\n  \nc\r\n\r\nd  ") == ["a\nb", "c", "d"]
