"""The export formats by name: what `GET /resume/{id}/export/{format}` can answer. A format
is one entry here."""

from collections.abc import Callable
from dataclasses import dataclass

from contracts.resume import ResumeDocument
from resume_service.exports import docx, json_resume, markdown, native, text

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Exporter:
    media_type: str
    extension: str
    render: Callable[[ResumeDocument], bytes]
    in_thread: bool = False  # render off the event loop: it takes milliseconds
    revision: int = 1  # part of the ETag: bump it when the same document renders otherwise


def utf8(render: Callable[[ResumeDocument], str]) -> Callable[[ResumeDocument], bytes]:
    return lambda document: render(document).encode()


EXPORTERS: dict[str, Exporter] = {
    "native": Exporter("application/json", "json", native.render),
    "json-resume": Exporter("application/json", "resume.json", json_resume.render),
    "markdown": Exporter("text/markdown; charset=utf-8", "md", utf8(markdown.render)),
    "text": Exporter("text/plain; charset=utf-8", "txt", utf8(text.render)),
    "docx": Exporter(DOCX_MEDIA_TYPE, "docx", docx.render, in_thread=True),
}
