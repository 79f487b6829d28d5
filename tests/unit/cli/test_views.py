"""How streams without a domain fold of their own are shown: payloads merged in order."""

import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.envelope import EventEnvelope
from runtime.cli.replay import plan_for
from runtime.cli.views import describe_generic, fold_generic, view_for


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
