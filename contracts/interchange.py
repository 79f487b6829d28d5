"""What the project exchanges as files: its own export (`NativeExport`), the document whole in
an envelope that says what it is and which shape of the document it holds, so an import can
refuse a file that is not one and upcast one of an older shape."""

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.resume import DOCUMENT_SCHEMA_VERSION, ResumeDocument

NATIVE_FORMAT: Final = "resume-builder"


class NativeExport(BaseModel):
    """`GET /resume/{id}/export/native` gives it; `POST /resume/import?format=native` takes
    it back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["resume-builder"] = Field(NATIVE_FORMAT, description="Always resume-builder.")
    schema_version: int = Field(DOCUMENT_SCHEMA_VERSION, ge=1, le=DOCUMENT_SCHEMA_VERSION,
                                description="The document's shape (DOCUMENT_SCHEMA_VERSION); "
                                "an older one is read as today's.")
    document: ResumeDocument
