"""The resume as CommonMark (GitHub-flavoured Markdown reads it the same). Every piece of user
text is escaped, so a title like `*[x](javascript:...)*` or a line starting `# ` stays text:
only the structure made here is markup."""

import re

from contracts.resume import ResumeDocument
from resume_service.exports.outline import DETAIL_SEPARATOR, Block, Entry, Link, Part, outline

# punctuation that is markup anywhere in a line (GFM adds | tables, ~ strikethrough, $ math)
_INLINE = re.compile(r"([\\`*_\[\]<>#|~$])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# what is markup only at the start of a line: list markers, setext underlines, numbered lists
_LINE_START = re.compile(r"^([-+=])|^(\d{1,9})([.)])")
# a link destination with these goes between <>, where only <, > and \ need care
_URL_NEEDS_BRACKETS = re.compile(r"[()<>\\]")


def render(document: ResumeDocument) -> str:
    resume = outline(document)
    blocks = [f"# {one_line(resume.name)}"]
    if resume.contact:
        blocks.append(_escape_line_start(DETAIL_SEPARATOR.join(map(_part, resume.contact))))
    blocks += [_section(section) for section in resume.sections]
    return "\n\n".join(blocks) + "\n"


def _section(section: Block) -> str:
    return "\n\n".join([f"## {one_line(section.title)}", *map(_entry, section.entries)])


def _entry(entry: Entry) -> str:
    blocks = [f"### {one_line(entry.title)}"] if entry.title else []
    if entry.details:
        blocks.append(f"*{one_line(DETAIL_SEPARATOR.join(entry.details))}*")
    blocks += [escape(paragraph) for paragraph in entry.paragraphs]
    if entry.bullets:
        blocks.append("\n".join(_bullet(bullet) for bullet in entry.bullets))
    return "\n\n".join(blocks)


def _bullet(text: str) -> str:
    return "- " + escape(text).replace("\n", "\n  ")


def _part(part: Part) -> str:
    if isinstance(part, Link):
        return f"[{one_line(part.label)}]({link_destination(part.url)})"
    return one_line(part)


def link_destination(url: str) -> str:
    if not _URL_NEEDS_BRACKETS.search(url):
        return url
    return "<" + url.replace("\\", "\\\\").replace("<", "%3C").replace(">", "%3E") + ">"


def one_line(text: str) -> str:
    """Text inside a line (a heading, a link's label, after other text): its blanks and line
    breaks as single spaces."""
    return _escape_inline(" ".join(text.split()))


def escape(text: str) -> str:
    """Text that starts a line, as Markdown showing exactly it: line by line (a line break
    stays one, as a hard break), leading blanks dropped (four would make a code block)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "  \n".join(_escape_line_start(_escape_inline(line)) for line in lines)


def _escape_inline(text: str) -> str:
    return _ENTITY.sub(r"\\&", _INLINE.sub(r"\\\1", text))


def _escape_line_start(line: str) -> str:
    return _LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", line)
