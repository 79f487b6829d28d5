"""What a user's feed says about an event: a small message (what happened, to which ids, the
job's status, the resume's version), never a document, an input or a result. Pure: the
consumer (worker.py) stores what `feed_entry` makes.

Whose feed: the payload's `owner_id` when it has one (a resume's, a job's request, a share's
view: the owner is who should see it), else the envelope's `user_id`, which every job event
carries as its job's owner (runtime.jobs records each with the owner as its user), so a
job's start and finish need no look-up of its request.
"""

from dataclasses import dataclass
from typing import Any

from contracts.ai_events import (
    ImportFinished,
    ImportRequested,
    ImportStarted,
    RatingFinished,
    RatingRequested,
    RatingStarted,
)
from contracts.compile_events import CompileFinished, CompileRequested, CompileStarted
from contracts.envelope import EventEnvelope
from contracts.privacy_events import ExportFinished, ExportRequested, ExportStarted
from contracts.resume_events import (
    ResumeCreated,
    ResumeDeleted,
    ResumeUndeleted,
    ResumeUpdated,
)
from contracts.topology import SHARE_VIEWED_EVENT

# SSE `event:` names: what a client listens for
RESUME, JOB, SHARE = "resume", "job", "share"

JOB_KINDS = {
    **dict.fromkeys((CompileRequested.event_type, CompileStarted.event_type,
                     CompileFinished.event_type), "compile"),
    **dict.fromkeys((RatingRequested.event_type, RatingStarted.event_type,
                     RatingFinished.event_type), "rating"),
    **dict.fromkeys((ImportRequested.event_type, ImportStarted.event_type,
                     ImportFinished.event_type), "import"),
    **dict.fromkeys((ExportRequested.event_type, ExportStarted.event_type,
                     ExportFinished.event_type), "export"),
}
REQUESTED = frozenset({CompileRequested.event_type, RatingRequested.event_type,
                       ImportRequested.event_type, ExportRequested.event_type})
STARTED = frozenset({CompileStarted.event_type, RatingStarted.event_type,
                     ImportStarted.event_type, ExportStarted.event_type})
SHARE_FIELDS = ("share_id", "resume_id", "version", "kind")
# a resume's own changes (not every event resume_service records: a share's view is one too)
RESUME_CHANGES = frozenset({ResumeCreated.event_type, ResumeUpdated.event_type,
                            ResumeDeleted.event_type, ResumeUndeleted.event_type})


@dataclass(frozen=True)
class FeedEntry:
    user_id: str
    event: str  # RESUME, JOB or SHARE
    data: dict[str, Any]


def feed_entry(envelope: EventEnvelope) -> FeedEntry | None:
    """The message for its owner's feed, or None for an event no user sees (a replay, an
    event without an owner, a type the feed does not know)."""
    user_id = envelope.payload.get("owner_id") or envelope.user_id
    if envelope.replay or not isinstance(user_id, str) or not user_id:
        return None
    made = _message(envelope)
    if made is None:
        return None
    event, fields = made
    data = {"type": envelope.event_type, **fields,
            "at": envelope.occurred_at.isoformat()}
    return FeedEntry(user_id, event, data)


def _message(envelope: EventEnvelope) -> tuple[str, dict[str, Any]] | None:
    payload, kind = envelope.payload, envelope.event_type
    if kind in RESUME_CHANGES:
        return RESUME, {"resume_id": envelope.stream_id, "version": envelope.stream_version}
    if kind in JOB_KINDS:
        return JOB, _job_fields(envelope)
    if kind == SHARE_VIEWED_EVENT:
        return SHARE, {name: payload[name] for name in SHARE_FIELDS if name in payload}
    return None


def _job_fields(envelope: EventEnvelope) -> dict[str, Any]:
    payload, kind = envelope.payload, envelope.event_type
    fields: dict[str, Any] = {"kind": JOB_KINDS[kind], "job_id": envelope.stream_id,
                              "status": job_status(kind, payload)}
    if payload.get("resume_id"):
        fields["resume_id"] = payload["resume_id"]
    if payload.get("error_code"):
        fields["error_code"] = payload["error_code"]
    return fields


def job_status(event_type: str, payload: dict[str, Any]) -> str:
    """The job's status once the event happened (runtime.jobs' statuses)."""
    if event_type in REQUESTED:
        return "queued"
    if event_type in STARTED:
        return "running"
    return str(payload.get("outcome", "failed"))
