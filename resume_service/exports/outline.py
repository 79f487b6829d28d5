"""What a reader of an exported resume sees, in order: the name, the contact line, then each
section's title and entries. Markdown, text and DOCX render this and nothing else, so a
document field shown in exports is one line here.

Left out: the document's title (it names the file), template, ids and section kinds."""

from dataclasses import dataclass, field

from contracts.presentation import shown_document
from contracts.resume import Item, ResumeDocument, Section

DETAIL_SEPARATOR = " · "
DATE_SEPARATOR = " – "


@dataclass(frozen=True)
class Link:
    label: str
    url: str


Part = str | Link  # one piece of a line: plain text, or text that links somewhere


@dataclass(frozen=True)
class Entry:
    title: str
    details: list[str] = field(default_factory=list)  # shown after the title, in this order
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Block:
    title: str
    entries: list[Entry]


@dataclass(frozen=True)
class Outline:
    name: str
    contact: list[Part]
    sections: list[Block]


def outline(document: ResumeDocument) -> Outline:
    """What a reader sees of the document as the templates show it (contracts.presentation:
    every JSON Resume field in the fields shown); the headline starts the contact line."""
    document = shown_document(document)
    contact = document.contact
    email = [Link(contact.email, f"mailto:{contact.email}")] if contact.email else []
    return Outline(
        name=contact.name or document.title,
        contact=[*present(contact.label), *email, *present(contact.phone, contact.location),
                 *(Link(link.label or link.url, link.url) for link in contact.links)],
        sections=[_block(section) for section in document.sections])


def _block(section: Section) -> Block:
    return Block(section.title, [_entry(item) for item in section.items])


def _entry(item: Item) -> Entry:
    return Entry(
        title=item.title,
        details=present(item.subtitle, item.location,
                        DATE_SEPARATOR.join(present(item.start_date, item.end_date))),
        paragraphs=paragraphs(item.description),
        bullets=present(*item.bullets))


def present(*texts: str) -> list[str]:
    return [text for text in texts if text.strip()]


def paragraphs(text: str) -> list[str]:
    """Paragraphs split at blank lines; a single line break stays inside its paragraph."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    found, current = [], []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            found.append("\n".join(current))
            current = []
    if current:
        found.append("\n".join(current))
    return found
