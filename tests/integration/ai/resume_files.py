"""Resume files to import, made from a `ResumeDocument` the way the project makes them: a
PDF by compile_service's Typst engine and template, a DOCX in the shape of resume_service's
DOCX export (the name in the Title style, section titles as Heading 1, an entry as a
paragraph with its title in bold and its details after ` · `, bullets as List Bullet
paragraphs; built here with python-docx, as that export is on another branch), and what
of a resume must come back from an import (`text_of`)."""

import io
import zipfile
from collections.abc import AsyncIterator
from typing import Any

from docx import Document

from compile_service.rendering import BUILTIN_TEMPLATES, Renderer
from compile_service.settings import CompileSettings
from compile_service.typesetting.typst import Typst
from compile_service.wiring import make_typst
from contracts.resume import ResumeDocument

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SEPARATOR = " · "


async def typst_engine() -> AsyncIterator[tuple[Typst, Renderer]]:
    renderer = Renderer([BUILTIN_TEMPLATES])
    engine = make_typst(CompileSettings(compile_timeout_seconds=10), renderer)
    assert isinstance(engine, Typst)
    yield engine, renderer
    engine.close()


async def pdf_of(engine: tuple[Typst, Renderer], document: ResumeDocument,
                 template: str = "standard") -> bytes:
    typst, renderer = engine
    return (await typst.compile(renderer.render(template, document, None).source)).data


def docx_of(document: ResumeDocument) -> bytes:
    word = Document()
    word.add_paragraph(document.contact.name, "Title")
    contact = document.contact
    word.add_paragraph(SEPARATOR.join(x for x in (contact.email, contact.phone,
                                                  contact.location) if x))
    for section in document.sections:
        word.add_paragraph(section.title, "Heading 1")
        for item in section.items:
            details = [x for x in (item.subtitle, item.location,
                                   " – ".join(x for x in (item.start_date, item.end_date) if x))
                       if x]
            if item.title:
                entry = word.add_paragraph()
                entry.add_run(item.title).bold = True
                if details:
                    entry.add_run(SEPARATOR + SEPARATOR.join(details))
            if item.description:
                word.add_paragraph(item.description)
            for bullet in item.bullets:
                word.add_paragraph(bullet, "List Bullet")
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def text_of(document: ResumeDocument | dict[str, Any]) -> dict[str, Any]:
    """The name, and each section's title with its items' titles and bullets, in order."""
    doc = document if isinstance(document, ResumeDocument) else ResumeDocument.model_validate(
        {k: v for k, v in document.items() if k in ResumeDocument.model_fields})
    return {"name": doc.contact.name,
            "sections": [(s.title, [(i.title, i.bullets) for i in s.items])
                         for s in doc.sections]}


def zip_bomb() -> bytes:
    """A small ZIP that looks like a DOCX and declares far more than it may unpack to."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (80 * 1024 * 1024))
    return out.getvalue()
