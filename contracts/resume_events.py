"""Events of resume_service. Each carries the whole document, so consumers can keep
"highest version wins" projections that ignore duplicates and reordering.

Schema versions: version 2 of ResumeCreated and ResumeUpdated added the document's
`locale`; a stored version 1 event reads with `locale: "en"` (RESUME_UPCASTERS, applied by
contracts.upcasting). A consumer handed a version 1 payload as it was stored (the relay sends
payloads as written) gets the same through the field's default."""

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from contracts.resume import ResumeDocument


class ResumeEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    resume_id: str = Field(description="The resume (stream) id.")
    owner_id: str = Field(description="The user who owns the resume.")


class ResumeCreated(ResumeEvent):
    """A resume came into being with its first document."""

    event_type: ClassVar[str] = "ResumeCreated"
    schema_version: ClassVar[int] = 2
    document: ResumeDocument


class ResumeUpdated(ResumeEvent):
    """The document was replaced as a whole (an edit, or a restore of an older version)."""

    event_type: ClassVar[str] = "ResumeUpdated"
    schema_version: ClassVar[int] = 2
    document: ResumeDocument
    restored_from: int | None = Field(None, description="Version restored, when a restore.")


class ResumeDeleted(ResumeEvent):
    """The resume was deleted; its history stays in the store."""

    event_type: ClassVar[str] = "ResumeDeleted"


RESUME_EVENTS: dict[str, type[ResumeEvent]] = {
    cls.event_type: cls for cls in (ResumeCreated, ResumeUpdated, ResumeDeleted)
}


def _with_default_locale(payload: dict[str, Any]) -> dict[str, Any]:
    document = payload.get("document")
    if not isinstance(document, dict) or "locale" in document:
        return payload
    return {**payload, "document": {**document, "locale": "en"}}


# (type, schema version) -> (type, next version, payload mapper), as contracts.upcasting reads
Upcaster = tuple[str, int, Callable[[dict[str, Any]], dict[str, Any]]]
RESUME_UPCASTERS: dict[tuple[str, int], Upcaster] = {
    (ResumeCreated.event_type, 1): (ResumeCreated.event_type, 2, _with_default_locale),
    (ResumeUpdated.event_type, 1): (ResumeUpdated.event_type, 2, _with_default_locale),
}
