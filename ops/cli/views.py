"""How the CLI reads a stream: a one-line summary of what each event changed, and the state
after the first N events.

A service that knows better hands over its own view in its registration (resume_service:
its `evolve`/`fold`/`describe_change`; runtime.registry.StreamView). Other streams get the
generic view: payloads merged in order.
"""

from collections.abc import Sequence
from typing import Any

from contracts.envelope import EventEnvelope
from ops.services import registration_of_schema
from runtime.registry import StreamView


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


GENERIC_VIEW = StreamView(describe_generic, fold_generic)


def view_for(schema: str) -> StreamView:
    service = registration_of_schema(schema)
    if service is None or service.stream_view is None:
        return GENERIC_VIEW
    return service.stream_view
