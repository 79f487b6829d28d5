"""The import's pure parts: what an upload is by its bytes, its name made safe, and a model's
answer made into a document within the document's limits."""

import io
import zipfile

import pytest

from ai_service.domain import MAX_SECTIONS, imported_document, imported_resume_id
from ai_service.uploads import WORD_MAIN, UnsupportedFile, file_kind, safe_file_name
from contracts.ai_events import ImportedResume

DOCUMENT, TYPES = "word/document.xml", "[Content_Types].xml"


def zipped(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return out.getvalue()


def test_a_file_is_what_its_bytes_say() -> None:
    assert file_kind(b"%PDF-1.7\n...") == "pdf"
    word = zipped({TYPES: f'<Override ContentType="{WORD_MAIN}"/>', DOCUMENT: "<w/>"})
    assert file_kind(word) == "docx"
    for other in (b"hello", b"PK\x03\x04 not a zip", zipped({DOCUMENT: "<w/>"}),
                  zipped({TYPES: "<Types/>", DOCUMENT: "<w/>"}), b" %PDF-1.7"):
        with pytest.raises(UnsupportedFile):
            file_kind(other)


@pytest.mark.parametrize(("name", "safe"), [
    ("../../etc/passwd", "passwd"), ("C:\\Users\\me\\cv.docx", "cv.docx"),
    ("cv\x00\n.pdf", "cv.pdf"), ("", "resume.pdf"), (None, "resume.pdf"),
    ("x" * 300 + ".pdf", ("x" * 300 + ".pdf")[-255:]),
])
def test_file_names_lose_paths_and_control_characters(name: str | None, safe: str) -> None:
    assert safe_file_name(name, "pdf") == safe


def test_an_answer_is_cut_to_the_documents_limits_and_counted() -> None:
    answer = ImportedResume.model_validate({
        "contact": {"name": "Ada\x00", "url": "ada.dev",
                    "links": [{"label": "", "url": "mailto:ada@example.com"}]},
        "sections": [{"title": f"S{n}", "kind": "experience"} for n in range(MAX_SECTIONS + 5)]})
    document, cuts = imported_document(answer, "x" * 250)
    assert cuts == 1  # the sections (the title comes from the file name, not the model)
    assert document.title == "x" * 200 and len(document.sections) == MAX_SECTIONS
    assert document.contact.name == "Ada" and document.contact.url == "https://ada.dev"
    assert document.contact.links[0].label == "mailto:ada@example.com"


def test_the_imported_resume_id_follows_from_the_job() -> None:
    assert imported_resume_id("a") == imported_resume_id("a") != imported_resume_id("b")
