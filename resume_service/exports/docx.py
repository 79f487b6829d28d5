"""The resume as a Word document (python-docx) a recruiter can edit: the name in the Title
style, section titles as Heading 1, entries as paragraphs with a bold title, bullets as List
Bullet paragraphs and links as real hyperlinks (python-docx writes no hyperlink: the
`w:hyperlink` element and its relationship are made here).

Each document starts from a lean copy of python-docx's default template, made once: only the
styles it uses (and those they build on), without the template's Word 2010 style copy, its
thumbnail (a picture of another document) and its custom XML. Parsing the full template's
350 KB of styles and writing them back out was some 30 of a resume's 35 ms."""

import functools
import io
import re

from docx import Document
from docx.document import Document as WordDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import RGBColor
from docx.text.paragraph import Paragraph

from contracts.resume import ResumeDocument
from resume_service.exports.outline import DETAIL_SEPARATOR, Entry, Link, Part, outline

TITLE, HEADING, BULLET, HYPERLINK = "Title", "Heading 1", "List Bullet", "Hyperlink"
USED_STYLES = ("Normal", TITLE, HEADING, BULLET)
DROPPED_PARTS = frozenset({"stylesWithEffects", "thumbnail", "customXml"})  # relationship types
_STYLE_REFERENCES = tuple(qn(tag) for tag in ("w:basedOn", "w:link", "w:next"))
# characters XML 1.0 cannot carry (lxml refuses them): dropped, not a failed export
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render(document: ResumeDocument) -> bytes:
    resume = outline(document)
    word = Writer(Document(io.BytesIO(lean_template())))
    word.document.core_properties.title = xml_text(document.title)
    word.document.core_properties.author = xml_text(document.contact.name)
    word.paragraph(resume.name, TITLE)
    if resume.contact:
        word.parts(word.paragraph(), resume.contact)
    for section in resume.sections:
        word.paragraph(section.title, HEADING)
        for entry in section.entries:
            word.entry(entry)
    out = io.BytesIO()
    word.document.save(out)
    return out.getvalue()


class Writer:
    """Adds paragraphs and runs to a document, naming styles by their ids: python-docx looks
    a style name up by scanning every style of the template, which took two thirds of a
    resume's rendering time (1.3 ms a paragraph)."""

    def __init__(self, document: WordDocument) -> None:
        self.document = document
        self.style_ids = {name: document.styles[name].style_id
                          for name in (TITLE, HEADING, BULLET)}
        self.style_ids[HYPERLINK] = _add_hyperlink_style(document)

    def paragraph(self, text: str = "", style: str | None = None) -> Paragraph:
        paragraph = self.document.add_paragraph(xml_text(text))
        if style is not None:
            paragraph._p.style = self.style_ids[style]
        return paragraph

    def entry(self, entry: Entry) -> None:
        if entry.title or entry.details:
            paragraph = self.paragraph()
            paragraph.add_run(xml_text(entry.title)).bold = True
            if entry.details:
                separator = DETAIL_SEPARATOR if entry.title else ""
                paragraph.add_run(xml_text(separator + DETAIL_SEPARATOR.join(entry.details)))
        for text in entry.paragraphs:
            self.paragraph(text)
        for bullet in entry.bullets:
            self.paragraph(bullet, BULLET)

    def parts(self, paragraph: Paragraph, parts: list[Part]) -> None:
        for n, part in enumerate(parts):
            if n:
                paragraph.add_run(DETAIL_SEPARATOR)
            if isinstance(part, Link):
                self.hyperlink(paragraph, part)
            else:
                paragraph.add_run(xml_text(part))

    def hyperlink(self, paragraph: Paragraph, link: Link) -> None:
        """A `w:hyperlink` to `link.url` (an external relationship of the paragraph's part)
        holding one run in the Hyperlink character style."""
        hyperlink = OxmlElement("w:hyperlink")
        hyperlink.set(qn("r:id"), paragraph.part.relate_to(
            xml_text(link.url), RELATIONSHIP_TYPE.HYPERLINK, is_external=True))
        hyperlink.set(qn("w:history"), "1")
        run = paragraph.add_run(xml_text(link.label))
        run._r.style = self.style_ids[HYPERLINK]
        hyperlink.append(run._r)  # moved from the paragraph into the hyperlink
        paragraph._p.append(hyperlink)


@functools.cache
def lean_template() -> bytes:
    template = Document()
    _keep_only_used_styles(template)
    for relationships in (template.part.rels, template.part.package.rels):
        for key, relationship in list(relationships.items()):
            if relationship.reltype.rsplit("/", 1)[-1] in DROPPED_PARTS:
                del relationships[key]
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def _keep_only_used_styles(template: WordDocument) -> None:
    styles = template.styles.element
    by_id = {style.get(qn("w:styleId")): style for style in styles.findall(qn("w:style"))}
    wanted = [template.styles[name].element for name in USED_STYLES]
    wanted += [style for style in by_id.values() if style.get(qn("w:default")) == "1"]
    kept: set[str] = set()
    while wanted:
        style = wanted.pop()
        if (style_id := style.get(qn("w:styleId"))) in kept:
            continue
        kept.add(style_id)
        for tag in _STYLE_REFERENCES:
            reference = style.find(tag)  # an element without children is falsy: test for None
            if reference is not None and (target := by_id.get(reference.get(qn("w:val")))) \
                    is not None:
                wanted.append(target)
    for style_id, style in by_id.items():
        if style_id not in kept:
            styles.remove(style)
    if (latent := styles.find(qn("w:latentStyles"))) is not None:
        styles.remove(latent)  # how Word lists its built-in styles: its defaults do


def _add_hyperlink_style(document: WordDocument) -> str:
    """python-docx's default template has no Hyperlink character style: Word's own look."""
    style = document.styles.add_style(HYPERLINK, WD_STYLE_TYPE.CHARACTER)
    style.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)
    style.font.underline = True
    return style.style_id


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)
