"""What a user's feed says about each event: small messages, the right owner, no content."""

import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.ai_events import ImportFinished, RatingStarted
from contracts.compile_events import CompileFinished, CompileRequested
from contracts.envelope import EventEnvelope
from contracts.privacy_events import ExportFinished
from contracts.resume_events import ResumeUpdated
from contracts.topology import SHARE_VIEWED_EVENT
from live_service.domain import JOB, RESUME, SHARE, feed_entry


def envelope(event_type: str, payload: dict[str, Any], user_id: str | None = "owner",
             stream_version: int = 1, replay: bool = False) -> EventEnvelope:
    return EventEnvelope(event_id=uuid.uuid4(), event_type=event_type, stream_id="stream-1",
                         stream_version=stream_version, occurred_at=datetime.now(UTC),
                         user_id=user_id, payload=payload, replay=replay)


def test_a_save_tells_the_owner_the_resume_and_its_version_without_the_document() -> None:
    entry = feed_entry(envelope(ResumeUpdated.event_type, {
        "resume_id": "stream-1", "owner_id": "owner", "document": {"title": "Secret"}},
        user_id="someone-else", stream_version=7))
    assert entry is not None and entry.user_id == "owner" and entry.event == RESUME
    assert entry.data["resume_id"] == "stream-1" and entry.data["version"] == 7
    assert "Secret" not in str(entry.data)


def test_job_events_carry_their_status_and_the_owner_from_the_envelope() -> None:
    requested = feed_entry(envelope(CompileRequested.event_type, {
        "job_id": "stream-1", "owner_id": "owner", "resume_id": "r1", "version": 2}))
    started = feed_entry(envelope(RatingStarted.event_type, {
        "job_id": "stream-1", "attempt": 1, "worker": "h:1"}))
    failed = feed_entry(envelope(CompileFinished.event_type, {
        "job_id": "stream-1", "outcome": "failed", "error_code": "timeout"}))
    assert requested is not None and started is not None and failed is not None
    assert (requested.event, requested.data["status"], requested.data["kind"]) == (
        JOB, "queued", "compile")
    assert (started.user_id, started.data["status"], started.data["kind"]) == (
        "owner", "running", "rating")
    assert (failed.data["status"], failed.data["error_code"]) == ("failed", "timeout")


def test_an_import_s_finish_names_the_resume_but_not_its_document() -> None:
    entry = feed_entry(envelope(ImportFinished.event_type, {
        "job_id": "stream-1", "outcome": "succeeded", "owner_id": "owner",
        "resume_id": "r9", "document": {"title": "Imported secret"}}))
    assert entry is not None and entry.data["resume_id"] == "r9"
    assert entry.data["kind"] == "import" and "Imported secret" not in str(entry.data)


def test_an_export_s_finish_tells_its_owner_without_a_resume_or_its_digest() -> None:
    entry = feed_entry(envelope(ExportFinished.event_type, {
        "job_id": "stream-1", "outcome": "succeeded", "size_bytes": 10, "sha256": "ab"}))
    assert entry is not None and entry.user_id == "owner"
    assert entry.data["kind"] == "export" and entry.data["status"] == "succeeded"
    assert "resume_id" not in entry.data and "ab" not in entry.data.values()


def test_a_share_view_keeps_only_its_ids() -> None:
    entry = feed_entry(envelope(SHARE_VIEWED_EVENT, {
        "owner_id": "owner", "share_id": "s1", "resume_id": "r1", "version": 2,
        "viewer_hash": "abc"}, user_id=None))
    assert entry is not None and entry.event == SHARE
    assert entry.data["share_id"] == "s1" and "viewer_hash" not in entry.data


def test_replays_events_without_an_owner_and_unknown_types_are_left_out() -> None:
    assert feed_entry(envelope(ResumeUpdated.event_type, {"owner_id": "o"}, replay=True)) is None
    assert feed_entry(envelope(RatingStarted.event_type, {"job_id": "j"}, user_id=None)) is None
    assert feed_entry(envelope("SomethingElse", {"owner_id": "o"})) is None


def test_a_share_view_is_never_taken_for_a_resume_save() -> None:
    entry = feed_entry(envelope(SHARE_VIEWED_EVENT, {"owner_id": "owner", "share_id": "s1"},
                                stream_version=9))
    assert entry is not None and entry.event == SHARE and "version" not in entry.data
