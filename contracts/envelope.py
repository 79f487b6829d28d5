"""The envelope every event travels in, on the bus and in the event stores."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class EventEnvelope(BaseModel):
    """One stored event with the metadata consumers need to route, dedupe and trace it."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID = Field(description="Unique id; consumers dedupe on it.")
    event_type: str = Field(description="Past-tense name, e.g. ResumeUpdated.")
    schema_version: int = Field(1, description="Version of the payload schema.")
    stream_id: str = Field(description="The aggregate the event belongs to.")
    stream_version: int = Field(ge=1, description="Position of the event in its stream, from 1.")
    global_position: int | None = Field(None, description="Position in the producer's log.")
    occurred_at: datetime = Field(description="When the event was recorded.")
    user_id: str | None = Field(None, description="The user on whose behalf it happened.")
    correlation_id: str | None = Field(None, description="The HTTP request id that caused it.")
    causation_id: str | None = Field(None, description="The event id that caused it, if any.")
    replay: bool = Field(False, description="True when re-delivered by the replay tool.")
    payload: dict[str, Any] = Field(description="The event body; its schema is per event_type.")
