"""How the CLI reads a stream: a one-line summary of what each event changed, and the state
after the first N events.

Resume streams use resume_service's own `evolve`/`fold`/`describe_change` (the CLI may import
services; services never import each other). Other streams get a generic fold: payloads merged
in order. A service can offer better by exposing `fold_envelopes(stream_id, envelopes)` and/or
`describe_envelopes(envelopes) -> list[str]` in its `domain` module.
"""

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.envelope import EventEnvelope
from contracts.resume_events import RESUME_EVENTS
from contracts.topology import RESUME_PRODUCER

Describe = Callable[[Sequence[EventEnvelope]], list[str]]
Fold = Callable[[str, Sequence[EventEnvelope]], Any]


@dataclass(frozen=True)
class StreamView:
    describe: Describe
    fold: Fold


def view_for(schema: str) -> StreamView:
    if schema == RESUME_PRODUCER:
        return StreamView(describe_resume, fold_resume)
    domain = _service_domain(schema)
    return StreamView(getattr(domain, "describe_envelopes", describe_generic),
                      getattr(domain, "fold_envelopes", fold_generic))


def _service_domain(schema: str) -> object | None:
    try:
        return importlib.import_module(f"{schema}_service.domain")
    except ImportError:
        return None


def describe_resume(envelopes: Sequence[EventEnvelope]) -> list[str]:
    from resume_service.domain import ResumeState, describe_change, evolve

    summaries: list[str] = []
    state = ResumeState(envelopes[0].stream_id) if envelopes else None
    for envelope in envelopes:
        assert state is not None
        event = RESUME_EVENTS[envelope.event_type].model_validate(envelope.payload)
        summaries.append(describe_change(state.document, event))
        state = evolve(state, event)
    return summaries


def fold_resume(stream_id: str, envelopes: Sequence[EventEnvelope]) -> dict[str, Any]:
    from resume_service.domain import fold

    state = fold(stream_id, (RESUME_EVENTS[e.event_type].model_validate(e.payload)
                             for e in envelopes))
    return {"resume_id": state.resume_id, "version": state.version, "owner_id": state.owner_id,
            "deleted": state.deleted,
            "document": state.document.model_dump(mode="json") if state.document else None}


def describe_generic(envelopes: Sequence[EventEnvelope]) -> list[str]:
    summaries: list[str] = []
    merged: dict[str, Any] = {}
    for envelope in envelopes:
        changed = [k for k, v in envelope.payload.items() if k not in merged or merged[k] != v]
        added = [k for k in changed if k not in merged]
        parts = ([f"set {', '.join(added)}"] if added else []) + (
            [f"changed {', '.join(k for k in changed if k not in added)}"]
            if len(changed) > len(added) else [])
        summaries.append("; ".join(parts) or "no changes")
        merged.update(envelope.payload)
    return summaries


def fold_generic(stream_id: str, envelopes: Sequence[EventEnvelope]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for envelope in envelopes:
        state.update(envelope.payload)
    last = envelopes[-1] if envelopes else None
    return {"stream_id": stream_id, "version": last.stream_version if last else 0,
            "last_event": last.event_type if last else None, "state": state}
