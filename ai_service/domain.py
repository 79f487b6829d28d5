"""ai_service's two jobs of the common lifecycle (runtime.jobs):

- the rating job, whose input is exactly what the model is shown (a hash of it, the model and
  the prompt version) and whose result is a validated `Rating`;
- the import job, whose input is the text of an uploaded file (keyed by the SHA-256 of the
  file's bytes, the model and the prompt version) and whose result is the `ResumeDocument`
  made from the model's `ImportedResume` (`imported_document`).

A queued, running or succeeded job answers every identical request of the same owner, so
the same input is never paid for twice; a failed one does not."""

import hashlib
import re
import uuid
from typing import Any

import orjson

from contracts.ai_events import (
    ImportedContact,
    ImportedItem,
    ImportedResume,
    ImportedSection,
    ImportFinished,
    ImportRequested,
    ImportStarted,
    RatingFinished,
    RatingRequested,
    RatingStarted,
)
from contracts.resume import Contact, Item, Link, ResumeDocument, Section
from runtime.jobs import JobKind


class RatingNotConfigured(Exception):
    """No GEMINI_API_KEY: no new rating or import can be made."""


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class RateLimiterUnavailable(Exception):
    """Redis is down: refuse paid work rather than let it through unlimited."""


def content_hash(model_input: Any) -> str:
    """SHA-256 of the canonical JSON of exactly what the model is shown: equal input, equal
    hash, whatever the key order."""
    return hashlib.sha256(orjson.dumps(model_input, option=orjson.OPT_SORT_KEYS)).hexdigest()


def same_input(request: RatingRequested) -> str:
    return (f"{request.owner_id}:{request.content_hash}:{request.model}:"
            f"{request.prompt_version}")


RATING_JOB = JobKind(
    name="rating", requested=RatingRequested, started=RatingStarted, finished=RatingFinished,
    reuse_key=same_input, reuse_succeeded=True, not_found_code="rating_not_found",
    noun="rating job",
)


def same_file(request: ImportRequested) -> str:
    return (f"{request.owner_id}:{request.content_hash}:{request.model}:"
            f"{request.prompt_version}")


IMPORT_JOB = JobKind(
    name="import", requested=ImportRequested, started=ImportStarted, finished=ImportFinished,
    reuse_key=same_file, reuse_succeeded=True, not_found_code="import_not_found",
    noun="import job",
)

_IMPORTED_RESUMES = uuid.UUID("5b0e6a7e-3f7c-4c43-9a55-2d0f5f3e6b1a")


def imported_resume_id(job_id: str) -> str:
    """The resume an import job creates: derived from the job, so it is known from the
    request on and the same whoever finishes the job."""
    return str(uuid.uuid5(_IMPORTED_RESUMES, job_id))


# --- the model's answer as a document ---

_URL = re.compile(r"^(https?://|mailto:)[^\s\x00]+$")
_LIMITS = {"short": 200, "date": 32, "bullet": 1000, "long": 5000, "email": 254, "phone": 50}
MAX_SECTIONS, MAX_ITEMS, MAX_BULLETS, MAX_LINKS = 30, 50, 30, 10


class _Shortener:
    """Cuts strings and lists to the document's limits, counting the cuts: an overlong field
    costs its tail, not the whole import (a retry would answer the same)."""

    def __init__(self) -> None:
        self.cuts = 0

    def text(self, value: str, limit: str) -> str:
        value = value.replace("\x00", "").strip()
        size = _LIMITS[limit]
        if len(value) <= size:
            return value
        self.cuts += 1
        return value[:size].rstrip()

    def few(self, values: list[Any], size: int) -> list[Any]:
        if len(values) > size:
            self.cuts += 1
        return values[:size]

    def url(self, value: str) -> str:
        value = value.strip()
        if value and "://" not in value and not value.startswith("mailto:"):
            value = ("mailto:" if "@" in value and "/" not in value else "https://") + value
        return value if len(value) <= 2048 and _URL.match(value) else ""


def imported_document(answer: ImportedResume, title: str) -> tuple[ResumeDocument, int]:
    """The document of a model's answer, and how many of its fields were cut to fit."""
    cut = _Shortener()
    document = ResumeDocument(
        title=title.strip()[:_LIMITS["short"]].rstrip() or "Imported resume",  # not the model's
        contact=_contact(answer.contact, cut),
        sections=[_section(s, cut) for s in cut.few(answer.sections, MAX_SECTIONS)])
    return document, cut.cuts


def _contact(contact: ImportedContact, cut: _Shortener) -> Contact:
    links = [Link(label=cut.text(link.label, "short") or url, url=url)
             for link in cut.few(contact.links, MAX_LINKS) if (url := cut.url(link.url))]
    return Contact(name=cut.text(contact.name, "short"), label=cut.text(contact.label, "short"),
                   email=cut.text(contact.email, "email"), phone=cut.text(contact.phone, "phone"),
                   location=cut.text(contact.location, "short"), url=cut.url(contact.url),
                   links=links)


def _section(section: ImportedSection, cut: _Shortener) -> Section:
    return Section(title=cut.text(section.title, "short"), kind=section.kind,
                   items=[_item(i, cut) for i in cut.few(section.items, MAX_ITEMS)])


def _item(item: ImportedItem, cut: _Shortener) -> Item:
    return Item(title=cut.text(item.title, "short"), subtitle=cut.text(item.subtitle, "short"),
                location=cut.text(item.location, "short"),
                start_date=cut.text(item.start_date, "date"),
                end_date=cut.text(item.end_date, "date"),
                description=cut.text(item.description, "long"),
                bullets=[b for b in (cut.text(b, "bullet") for b in
                                     cut.few(item.bullets, MAX_BULLETS)) if b],
                url=cut.url(item.url))
