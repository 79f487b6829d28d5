"""Events of resume_service. Each carries the whole document, so consumers can keep
"highest version wins" projections that ignore duplicates and reordering."""

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.resume import ResumeDocument

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
    document: ResumeDocument
    imported_from: ImportOrigin | None = Field(None, description="Set when it was imported.")


class ResumeUpdated(ResumeEvent):
    """The document was replaced as a whole (an edit, or a restore of an older version)."""

    event_type: ClassVar[str] = "ResumeUpdated"
    document: ResumeDocument
    restored_from: int | None = Field(None, description="Version restored, when a restore.")


class ResumeDeleted(ResumeEvent):
    """The resume was deleted; its history stays in the store."""

    event_type: ClassVar[str] = "ResumeDeleted"


RESUME_EVENTS: dict[str, type[ResumeEvent]] = {
    cls.event_type: cls for cls in (ResumeCreated, ResumeUpdated, ResumeDeleted)
}
