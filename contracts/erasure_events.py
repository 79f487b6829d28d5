"""What erasing an account leaves in the event stores, and the report each service makes.

An erased user's stored events become tombstones (docs/architecture.md, Privacy): the row
keeps its position, event id, stream id and version (positions stay dense, other streams
replay as before), and its type, payload and metadata become the ones below, which hold no
personal data. Whoever reads a log meets a tombstone as an event of type `Erased`: no
projection takes it, replays skip it, and `rb state` says the stream is erased.

`ErasureCompleted` (routing key ``<producer>.ErasureCompleted``) says that one service holds
nothing of the user any more; auth_service keeps each service's report.
"""

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

TOMBSTONE_EVENT_TYPE = "Erased"
TOMBSTONE_SCHEMA_VERSION = 1
TOMBSTONE_PAYLOAD: dict[str, Any] = {"erased": True}


def tombstone_metadata(user_id: str) -> dict[str, Any]:
    """The metadata of a tombstone: the user id alone (a pseudonymous id, which lets a
    replay or a consumer recognise the erased user's events), no request ids."""
    return {"user_id": user_id, "erased": True}


class ErasureCompleted(BaseModel):
    """One service erased everything it held of the user."""

    model_config = ConfigDict(frozen=True)
    event_type: ClassVar[str] = "ErasureCompleted"
    schema_version: ClassVar[int] = 1

    user_id: str = Field(description="The erased user's id.")
    erasure_id: str = Field(description="The erasure (AccountErased.erasure_id).")
    service: str = Field(description="The service that is done, e.g. resume_service.")


ERASURE_EVENTS: dict[str, type[BaseModel]] = {ErasureCompleted.event_type: ErasureCompleted}
