"""The resume as plain text for a web form's text box: no markup, titles underlined, one
entry after another, bullets as "- " lines."""

from contracts.resume import ResumeDocument
from resume_service.exports.outline import DETAIL_SEPARATOR, Block, Entry, Link, Part, outline


def render(document: ResumeDocument) -> str:
    resume = outline(document)
    blocks = [_underlined(resume.name, "=")]
    if resume.contact:
        blocks.append(DETAIL_SEPARATOR.join(map(_part, resume.contact)))
    blocks += [_section(section) for section in resume.sections]
    return "\n\n".join(blocks) + "\n"


def _section(section: Block) -> str:
    heading = [_underlined(section.title, "-")] if section.title.strip() else []
    return "\n\n".join([*heading, *map(_entry, section.entries)])


def _entry(entry: Entry) -> str:
    lines = [entry.title] if entry.title else []
    if entry.details:
        lines.append(DETAIL_SEPARATOR.join(entry.details))
    lines += entry.paragraphs
    lines += ["- " + bullet.replace("\n", "\n  ") for bullet in entry.bullets]
    return "\n".join(lines)


def _part(part: Part) -> str:
    if not isinstance(part, Link):
        return part
    if part.url == f"mailto:{part.label}" or part.url == part.label:
        return part.label
    return f"{part.label}: {part.url}"


def _underlined(title: str, rule: str) -> str:
    title = " ".join(title.split())
    return f"{title}\n{rule * max(len(title), 3)}"
