"""How streams are shown: with the view a service hands over (resume streams), else the
generic one (payloads merged in order)."""

import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.envelope import EventEnvelope
from contracts.resume_events import ResumeCreated
from contracts.topology import RESUME_SCHEMA
from ops.cli.replay import plan_for
from ops.cli.views import describe_generic, fold_generic, view_for
from resume_service.registration import REGISTRATION as RESUME


def _event(version: int, event_type: str, payload: dict[str, Any]) -> EventEnvelope:
    return EventEnvelope(event_id=uuid.uuid4(), event_type=event_type, stream_id="job-1",
                         stream_version=version, occurred_at=datetime.now(UTC),
                         payload=payload)


JOB = [_event(1, "CompileRequested", {"job_id": "job-1", "resume_version": 3}),
       _event(2, "CompileStarted", {"job_id": "job-1"}),
       _event(3, "CompileFinished", {"job_id": "job-1", "outcome": "failed", "error": "x"})]


def test_generic_fold_merges_payloads_up_to_the_version() -> None:
    assert fold_generic("job-1", JOB[:1]) == {
        "stream_id": "job-1", "version": 1, "last_event": "CompileRequested",
        "state": {"job_id": "job-1", "resume_version": 3}}
    assert fold_generic("job-1", JOB)["state"] == {
        "job_id": "job-1", "resume_version": 3, "outcome": "failed", "error": "x"}


def test_generic_description_names_the_fields_each_event_set_or_changed() -> None:
    assert describe_generic(JOB) == ["set job_id, resume_version", "no changes",
                                     "set outcome, error"]
    changed = describe_generic([JOB[0], _event(2, "X", {"resume_version": 4})])
    assert changed[1] == "changed resume_version"


def test_streams_of_a_service_without_its_own_view_use_the_generic_one() -> None:
    view = view_for(f"nosuch{uuid.uuid4().hex[:6]}")
    assert view.fold is fold_generic and view.describe is describe_generic


def test_replay_infers_source_and_types_from_the_queue_purpose() -> None:
    assert plan_for("compile_service.resumes", None, None) == ("resume", None)
    assert plan_for("compile_service.jobs", None, None) == ("compile", ("CompileRequested",))
    assert plan_for("ai_service.ratings", None, None) == ("ai", ("RatingRequested",))
    assert plan_for("resume_service.sessions", None, None) == ("auth", ("UserSignedOut",))
    assert plan_for("compile_service.jobs", "resume", None) == ("resume", None)
    assert plan_for("x.jobs", None, ["CompileFinished"]) == ("compile", ("CompileFinished",))


def test_resume_streams_use_the_view_resume_service_hands_over() -> None:
    view = view_for(RESUME_SCHEMA)
    assert view is RESUME.stream_view
    created = _event(1, ResumeCreated.event_type, {
        "resume_id": "job-1", "owner_id": "u1", "document": {"title": "T"}})
    assert view.fold("job-1", [created])["owner_id"] == "u1"
