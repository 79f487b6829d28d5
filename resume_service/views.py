"""What the API returns: the resume as the frontend sees it, and history entries."""

from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, Field

from contracts.resume import ResumeDocument
from runtime.bounds import Version


class ResumeOut(ResumeDocument):
    id: str
    version: int = Field(description="Send it back as `version` or If-Match when updating.")
    created_at: datetime
    updated_at: datetime


class ResumeIn(ResumeDocument):
    """A document to save. Fields of a fetched resume (id, timestamps) are accepted and
    ignored, so a client can send back what it read; `version` is the expected version."""

    id: str | None = None
    version: Version | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def document(self) -> ResumeDocument:
        # the fields were validated when this model was; no need to validate them again
        return ResumeDocument.model_construct(
            **{name: getattr(self, name) for name in ResumeDocument.model_fields})


class HistoryEntry(BaseModel):
    version: int
    event_type: str
    recorded_at: datetime
    summary: str
    correlation_id: str | None = None


class ResumeAtVersion(BaseModel):
    id: str
    version: int
    recorded_at: datetime
    deleted: bool
    document: ResumeDocument | None


class TrashedResume(BaseModel):
    id: str
    title: str
    version: int = Field(description="The version of the deletion.")
    deleted_at: datetime
    restorable_until: datetime = Field(description="POST /resume/{id}/undelete works until "
                                       "then; afterwards the resume stays deleted (404).")


def row_to_json(row: Any) -> dict[str, Any]:
    return {**row.document, "id": row.id, "version": row.version,
            "created_at": row.created_at, "updated_at": row.updated_at}


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
