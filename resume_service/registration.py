"""What resume_service hands over to the operator tooling (runtime.registry, ops.services),
with its own view of a resume stream: what each event changed in the document, and the
resume as `fold` makes it."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contracts.envelope import EventEnvelope
from contracts.resume_events import RESUME_EVENTS, ResumeEvent
from resume_service.domain import ResumeState, describe_change, evolve, fold
from resume_service.projections import PROJECTIONS
from resume_service.share_views import PROJECTION as SHARE_VIEWS
from resume_service.tables import event_tables
from runtime.registry import ServiceRegistration, StreamView


def _events(envelopes: Sequence[EventEnvelope]) -> list[ResumeEvent]:
    """The resume events of a stream (a share's stream, in the same log, has none)."""
    return [RESUME_EVENTS[e.event_type].model_validate(e.payload) for e in envelopes
            if e.event_type in RESUME_EVENTS]


def describe_resume(envelopes: Sequence[EventEnvelope]) -> list[str]:
    if not envelopes:
        return []
    if envelopes[0].event_type not in RESUME_EVENTS:  # a share's stream: its events' names
        return [e.event_type for e in envelopes]
    summaries: list[str] = []
    state = ResumeState(envelopes[0].stream_id)
    for event in _events(envelopes):
        summaries.append(describe_change(state.document, event))
        state = evolve(state, event)
    return summaries


def fold_resume(stream_id: str, envelopes: Sequence[EventEnvelope]) -> dict[str, Any]:
    state = fold(stream_id, _events(envelopes))
    return {"resume_id": state.resume_id, "version": state.version, "owner_id": state.owner_id,
            "deleted": state.deleted,
            "document": state.document.model_dump(mode="json") if state.document else None}


REGISTRATION = ServiceRegistration(
    name="resume_service", event_tables=event_tables, projections=[*PROJECTIONS, SHARE_VIEWS],
    migrations=Path(__file__).parent / "migrations",
    stream_view=StreamView(describe_resume, fold_resume))
