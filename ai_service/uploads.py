"""An uploaded resume file: what it is (by its content, never its name), and its text,
extracted here (the file itself goes nowhere: the import job carries only the text).

- PDF: the `%PDF-` header; the text is poppler's `pdftotext -raw` (the order the content
  streams write it, as compile_service's ATS check reads; the layout mode splits an entry's
  dates from its title), its first MAX_PDF_PAGES pages, within a time limit, its address
  space bounded (PDF_MEMORY_BYTES, set before it is sent the file), its output read up to a
  bound and the process killed past it.
- DOCX: a ZIP holding `word/document.xml` whose `[Content_Types].xml` declares a Word
  document. Before python-docx reads it (it loads every part), the archive's declared
  sizes are checked: too many entries or too many uncompressed bytes is refused as a zip
  bomb (zipfile never inflates past a declared size). python-docx's XML parser resolves no
  entities. The text keeps the structure a reader sees, marked as Markdown: headings `#`,
  bold runs `**`, list paragraphs `•`, links `[label](url)`, table cells by ` | `.
"""

import asyncio
import io
import re
import resource
import unicodedata
import zipfile
from dataclasses import dataclass

from docx import Document
from docx.document import Document as WordDocument
from docx.table import Table
from docx.text.hyperlink import Hyperlink
from docx.text.paragraph import Paragraph

from contracts.ai_events import FileKind

MAX_TEXT_CHARS = 60_000
MAX_PDF_PAGES = 20
PDF_MEMORY_BYTES = 512 * 1024 * 1024
MAX_ZIP_ENTRIES = 1_000
MAX_ZIP_UNCOMPRESSED_BYTES = 64 * 1024 * 1024
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_CHUNK = 64 * 1024


class UnsupportedFile(Exception):
    """Neither a PDF nor a DOCX, whatever its name says (or a DOCX too big inside)."""


class UnreadableFile(Exception):
    """A PDF or DOCX the extractor could not read; the message says why."""


@dataclass(frozen=True)
class ExtractedText:
    text: str
    truncated: bool


def file_kind(data: bytes) -> FileKind:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04") and _is_word_document(data):
        return "docx"
    raise UnsupportedFile


def _is_word_document(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if (len(entries) > MAX_ZIP_ENTRIES
                    or sum(e.file_size for e in entries) > MAX_ZIP_UNCOMPRESSED_BYTES):
                raise UnsupportedFile("the archive unpacks to too much")
            names = {e.filename for e in entries}
            if "word/document.xml" not in names or "[Content_Types].xml" not in names:
                return False
            return WORD_MAIN.encode() in archive.read("[Content_Types].xml")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        return False


async def extract_text(kind: FileKind, data: bytes, timeout: float) -> ExtractedText:
    """The file's text, bounded to MAX_TEXT_CHARS (UnreadableFile when it cannot be read)."""
    if kind == "pdf":
        text = await _pdf_text(data, timeout)
    else:
        try:
            text = await asyncio.wait_for(asyncio.to_thread(_docx_text, data), timeout)
        except TimeoutError:
            raise UnreadableFile(f"reading the document took over {timeout:g} s") from None
    text = _clean(text)
    return ExtractedText(text[:MAX_TEXT_CHARS], len(text) > MAX_TEXT_CHARS)


async def _pdf_text(data: bytes, timeout: float) -> str:
    process = await asyncio.create_subprocess_exec(
        "pdftotext", "-raw", "-enc", "UTF-8", "-l", str(MAX_PDF_PAGES), "-", "-",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        # no preexec_fn (unsafe beside threads): the limit is set before any input arrives
        resource.prlimit(process.pid, resource.RLIMIT_AS, (PDF_MEMORY_BYTES, PDF_MEMORY_BYTES))
        async with asyncio.timeout(timeout):
            output, _ = await asyncio.gather(_read_bounded(process), _feed(process, data))
            status = await process.wait()
    except TimeoutError:
        raise UnreadableFile(f"reading the PDF took over {timeout:g} s") from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if status != 0 and not output:
        raise UnreadableFile("the PDF could not be read")
    return output.decode("utf-8", errors="replace")


async def _feed(process: asyncio.subprocess.Process, data: bytes) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(data)
        await process.stdin.drain()
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # it stopped reading: its exit status tells


async def _read_bounded(process: asyncio.subprocess.Process) -> bytes:
    """Its output up to the bytes MAX_TEXT_CHARS can take; the process is killed past them."""
    assert process.stdout is not None
    limit, parts, size = MAX_TEXT_CHARS * 4 + 1, [], 0
    while chunk := await process.stdout.read(_CHUNK):
        parts.append(chunk)
        size += len(chunk)
        if size >= limit:
            process.kill()
            break
    return b"".join(parts)


def _docx_text(data: bytes) -> str:
    try:
        document = Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises whatever its parts' parsing raises
        raise UnreadableFile("the Word document could not be read") from exc
    return "\n".join(_blocks(document))


def _blocks(document: WordDocument) -> list[str]:
    # style names by id, read once: `paragraph.style` looks its id up among every style of
    # the document each time (most of a resume's reading time)
    styles = {style.style_id: style.name or "" for style in document.styles}
    lines = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines += [" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows]
        else:
            lines.append(_paragraph(block, styles.get(block._p.style or "", "")))
    return lines


def _paragraph(paragraph: Paragraph, style: str) -> str:
    text = "".join(_inline(part) for part in paragraph.iter_inner_content()).strip()
    if not text:
        return ""
    if style == "Title":
        return f"# {text}"
    if (level := re.fullmatch(r"Heading (\d)", style)) is not None:
        return "#" * (int(level.group(1)) + 1) + " " + text
    if style.startswith("List") or _numbered(paragraph):
        return f"• {text}"
    return text


def _numbered(paragraph: Paragraph) -> bool:
    """A list paragraph by its numbering, whatever its style is called."""
    properties = paragraph._p.pPr
    return properties is not None and properties.numPr is not None


def _inline(part: object) -> str:
    if isinstance(part, Hyperlink):
        return f"[{part.text}]({part.url})" if part.url else part.text
    text: str = getattr(part, "text", "")
    return f"**{text}**" if text.strip() and getattr(part, "bold", False) else text


def _clean(text: str) -> str:
    """NFC, no NUL or other control characters but newlines and tabs, runs of blank lines
    squeezed."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\f", "\n")
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def safe_file_name(name: str | None, kind: FileKind) -> str:
    """The upload's base name without paths or control characters, at most 255 characters;
    `resume.<kind>` when nothing is left."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base)
                   if unicodedata.category(c)[0] != "C").strip()
    return base[-255:] if base else f"resume.{kind}"
