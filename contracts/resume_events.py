"""Events of resume_service. Each carries the whole document, so consumers can keep
"highest version wins" projections that ignore duplicates and reordering.

Schema versions follow the document's (contracts.resume.DOCUMENT_SCHEMA_VERSION): version 2
of ResumeCreated and ResumeUpdated added the document's `locale`, version 3 everything JSON
Resume defines. A stored older event reads as today's (RESUME_UPCASTERS, applied by
contracts.upcasting): version 1 gains `locale: "en"`, version 2 the new fields with their
defaults, written out, so a rebuild from old events gives the rows migrated by resume
migration 0005. A consumer handed an old payload as it was stored (the relay sends payloads
as written) gets the same through the fields' defaults."""

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from contracts.resume import DOCUMENT_SCHEMA_VERSION, ResumeDocument

ImportFormat = Literal["json-resume", "native", "ai"]


class ResumeEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    resume_id: str = Field(description="The resume (stream) id.")
    owner_id: str = Field(description="The user who owns the resume.")


class ImportOrigin(BaseModel):
    """Where an imported resume came from."""

    model_config = ConfigDict(frozen=True)

    format: ImportFormat = Field(description="json-resume, native (this project's export), "
                                 "or ai (a PDF or DOCX read by the model).")
    file_name: Annotated[str, StringConstraints(max_length=255)] | None = None
    model: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        None, description="The model that read the file, for an AI import.")


class ResumeCreated(ResumeEvent):
    """A resume came into being with its first document."""

    event_type: ClassVar[str] = "ResumeCreated"
    schema_version: ClassVar[int] = DOCUMENT_SCHEMA_VERSION
    document: ResumeDocument
    imported_from: ImportOrigin | None = Field(None, description="Set when it was imported.")


class ResumeUpdated(ResumeEvent):
    """The document was replaced as a whole (an edit, or a restore of an older version)."""

    event_type: ClassVar[str] = "ResumeUpdated"
    schema_version: ClassVar[int] = DOCUMENT_SCHEMA_VERSION
    document: ResumeDocument
    restored_from: int | None = Field(None, description="Version restored, when a restore.")


class ResumeDeleted(ResumeEvent):
    """The resume was deleted; its history stays in the store."""

    event_type: ClassVar[str] = "ResumeDeleted"


class ResumeUndeleted(ResumeEvent):
    """A deleted resume is live again (within the restore window), with the document it had
    when it was deleted: carried whole, like every event that makes a resume live, so a
    replica takes it as one more version."""

    event_type: ClassVar[str] = "ResumeUndeleted"
    schema_version: ClassVar[int] = DOCUMENT_SCHEMA_VERSION
    document: ResumeDocument


RESUME_EVENTS: dict[str, type[ResumeEvent]] = {
    cls.event_type: cls for cls in (ResumeCreated, ResumeUpdated, ResumeDeleted,
                                    ResumeUndeleted)
}


def _with_default_locale(payload: dict[str, Any]) -> dict[str, Any]:
    document = payload.get("document")
    if not isinstance(document, dict) or "locale" in document:
        return payload
    return {**payload, "document": {**document, "locale": "en"}}


def document_in_todays_shape(document: Any) -> Any:
    """A stored document with every field of today's shape written out (the defaults of the
    fields it predates). One today's code cannot read is left as it was, not lost."""
    try:
        return ResumeDocument.model_validate(document).model_dump(mode="json")
    except ValidationError:
        return document


def _in_todays_shape(payload: dict[str, Any]) -> dict[str, Any]:
    if "document" not in payload:
        return payload
    return {**payload, "document": document_in_todays_shape(payload["document"])}


# (type, schema version) -> (type, next version, payload mapper), as contracts.upcasting reads
Upcaster = tuple[str, int, Callable[[dict[str, Any]], dict[str, Any]]]
RESUME_UPCASTERS: dict[tuple[str, int], Upcaster] = {
    (ResumeCreated.event_type, 1): (ResumeCreated.event_type, 2, _with_default_locale),
    (ResumeUpdated.event_type, 1): (ResumeUpdated.event_type, 2, _with_default_locale),
    (ResumeCreated.event_type, 2): (ResumeCreated.event_type, 3, _in_todays_shape),
    (ResumeUpdated.event_type, 2): (ResumeUpdated.event_type, 3, _in_todays_shape),
}
