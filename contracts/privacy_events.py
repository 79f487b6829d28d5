"""Events of a user's data export (issue #19's export half), an auth_service job of the
common lifecycle (contracts.jobs): `ExportRequested` -> `ExportStarted` (per attempt) ->
`ExportFinished`. The job's stream is its id, stored in auth_service's log and routed as
``auth.<EventType>``; the export worker's queue binds ``auth.ExportRequested``.

The events hold no exported data: the archive itself is a row of `auth.account_exports`
(chunks in `auth.account_export_chunks`), never an event, so erasing it is a delete.
"""

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from contracts.jobs import JobEvent, JobFinished, JobRequested, JobStarted


class ExportRequested(JobRequested):
    """A user asked for every piece of data held about them. `resume_id` is empty: the job is
    about the whole account."""

    event_type: ClassVar[str] = "ExportRequested"


class ExportStarted(JobStarted):
    event_type: ClassVar[str] = "ExportStarted"


class ExportFinished(JobFinished):
    """The outcome; a succeeded export's archive is stored until `expires_at`."""

    event_type: ClassVar[str] = "ExportFinished"
    size_bytes: int | None = Field(None, ge=0, description="Size of the zip archive.")
    files: int | None = Field(None, ge=0, description="Files in the archive.")
    sha256: str | None = Field(None, description="Hex SHA-256 of the archive.")
    expires_at: datetime | None = Field(None, description="When the stored archive is "
                                        "deleted.")


PRIVACY_EVENTS: dict[str, type[JobEvent]] = {
    cls.event_type: cls for cls in (ExportRequested, ExportStarted, ExportFinished)
}
