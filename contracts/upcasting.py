"""Reading old events as today's: an event type renamed or reshaped keeps its stored rows as
they were written; whoever reads a stored event (the event store, rebuilds, replays, the
operator CLI) sees it through `upcast`, so old streams fold, replay and rebuild."""

from typing import Any

from contracts.ai_events import AI_UPCASTERS
from contracts.resume_events import RESUME_UPCASTERS

UPCASTERS = {**AI_UPCASTERS, **RESUME_UPCASTERS}


def upcast(event_type: str, schema_version: int,
           payload: dict[str, Any]) -> tuple[str, int, dict[str, Any]]:
    """The current (type, schema version, payload) of a stored event."""
    while (step := UPCASTERS.get((event_type, schema_version))) is not None:
        event_type, schema_version, mapper = step
        payload = mapper(payload)
    return event_type, schema_version, payload
