"""Resume files to import, made from a `ResumeDocument` the way the project makes them: a
PDF by compile_service's Typst engine and template, a DOCX by resume_service's DOCX export,
and what of a resume must come back from an import (`text_of`)."""

import io
import zipfile
from collections.abc import AsyncIterator
from typing import Any

from compile_service.rendering import BUILTIN_TEMPLATES, Renderer
from compile_service.settings import CompileSettings
from compile_service.typesetting.typst import Typst
from compile_service.wiring import make_typst
from contracts.resume import ResumeDocument
from resume_service.exports import docx as docx_export

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
    """The resume as resume_service's DOCX export makes it."""
    return docx_export.render(document)


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
