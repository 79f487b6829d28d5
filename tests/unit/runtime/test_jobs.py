"""The job lifecycle without I/O (runtime.jobs): given events, when a command, then events;
with both job kinds there are, since each supplies its own events."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from ai_service.domain import RATING_JOB
from compile_service.domain import COMPILE_JOB
from contracts.ai_events import RatingFinished, RatingRequested, RatingStarted
from contracts.compile_events import CompileFinished, CompileRequested, CompileStarted
from contracts.envelope import EventEnvelope
from runtime.jobs import (
    Cancel,
    Claim,
    Close,
    JobExists,
    JobState,
    RequestJob,
    UnknownJob,
    decide,
    evolve,
    fold,
    job_stream_view,
)


def compile_requested() -> CompileRequested:
    return CompileRequested(job_id="j", resume_id="r1", owner_id="u1", resume_version=3,
                            template="classic", engine="pdflatex", title="CV")


def rating_requested() -> RatingRequested:
    return RatingRequested(job_id="j", resume_id="r1", owner_id="u1", resume_version=3,
                           content_hash="h", model="gemini-2.5-flash", prompt_version="v1")


def test_a_request_queues_the_job() -> None:
    events = decide(COMPILE_JOB, JobState("j"), RequestJob(compile_requested()))
    assert events == [compile_requested()]
    state = fold("j", events)
    assert (state.status, state.version, state.owner_id, state.resume_id) == (
        "queued", 1, "u1", "r1")


def test_a_request_whose_result_exists_finishes_at_once() -> None:
    done = CompileFinished(job_id="j", outcome="succeeded", artifact_key="k" * 64, cached=True)
    events = decide(COMPILE_JOB, JobState("j"), RequestJob(compile_requested(), done))
    assert [e.event_type for e in events] == ["CompileRequested", "CompileFinished"]
    assert fold("j", events).status == "succeeded"


def test_a_request_that_did_the_work_itself_records_its_start_too() -> None:
    done = CompileFinished(job_id="j", outcome="succeeded", artifact_key="k" * 64)
    events = decide(COMPILE_JOB, JobState("j"),
                    RequestJob(compile_requested(), done, run_by="host:1:request"))
    assert [e.event_type for e in events] == ["CompileRequested", "CompileStarted",
                                              "CompileFinished"]
    assert isinstance(events[1], CompileStarted)
    assert (events[1].attempt, events[1].worker) == (1, "host:1:request")
    state = fold("j", events)
    assert (state.status, state.attempts, state.version) == ("succeeded", 1, 3)


def test_a_second_request_for_the_same_job_id_is_refused() -> None:
    with pytest.raises(JobExists):
        decide(COMPILE_JOB, fold("j", [compile_requested()]), RequestJob(compile_requested()))


@pytest.mark.parametrize(("kind", "requested", "started"), [
    (COMPILE_JOB, compile_requested(), CompileStarted),
    (RATING_JOB, rating_requested(), RatingStarted),
])
def test_each_claim_counts_an_attempt_in_the_kinds_own_event(
        kind: object, requested: object, started: type) -> None:
    state = fold("j", [requested])  # type: ignore[list-item]
    [first] = decide(kind, state, Claim("w1"))  # type: ignore[arg-type]
    assert first == started(job_id="j", attempt=1, worker="w1")
    state = evolve(state, first)
    assert state.status == "running" and state.attempts == 1
    [second] = decide(kind, state, Claim("w2"))  # type: ignore[arg-type]
    assert second.attempt == 2  # type: ignore[attr-defined]


def test_closing_records_the_outcome() -> None:
    state = fold("j", [rating_requested(), RatingStarted(job_id="j", attempt=1, worker="w")])
    failed = RatingFinished(job_id="j", outcome="failed", error_code="invalid_output",
                            error="bad answer", model_calls=2)
    assert decide(RATING_JOB, state, Close(failed)) == [failed]
    assert evolve(state, failed).status == "failed"


def test_a_finished_job_ignores_redelivered_claims_and_closes() -> None:
    done = CompileFinished(job_id="j", outcome="failed", error="boom")
    state = fold("j", [compile_requested(), CompileStarted(job_id="j", attempt=1, worker="w"),
                       done])
    assert state.finished
    assert decide(COMPILE_JOB, state, Claim("w2")) == []
    again = CompileFinished(job_id="j", outcome="succeeded", artifact_key="k")
    assert decide(COMPILE_JOB, state, Close(again)) == []


@pytest.mark.parametrize("started", [False, True])
def test_a_cancel_closes_a_queued_or_running_job_and_the_workers_close_then_records_nothing(
        started: bool) -> None:
    history: list[object] = [compile_requested()]
    if started:
        history.append(CompileStarted(job_id="j", attempt=1, worker="w"))
    state = fold("j", history)  # type: ignore[arg-type]
    [cancelled] = decide(COMPILE_JOB, state, Cancel())
    assert isinstance(cancelled, CompileFinished)
    assert (cancelled.outcome, cancelled.error_code) == ("failed", "cancelled")
    state = evolve(state, cancelled)
    assert state.finished
    done = CompileFinished(job_id="j", outcome="succeeded", artifact_key="k" * 64)
    assert decide(COMPILE_JOB, state, Close(done)) == []  # the worker's late outcome
    assert decide(COMPILE_JOB, state, Claim("w2")) == []  # a later delivery
    assert decide(COMPILE_JOB, state, Cancel()) == []  # a second cancel


def test_work_on_an_unknown_job_is_refused() -> None:
    with pytest.raises(UnknownJob):
        decide(COMPILE_JOB, JobState("nope"), Claim("w"))


def test_identical_requests_share_a_reuse_key_and_different_ones_do_not() -> None:
    other_template = compile_requested().model_copy(update={"template": "modern"})
    assert COMPILE_JOB.reuse_key(compile_requested()) == COMPILE_JOB.reuse_key(
        compile_requested().model_copy(update={"job_id": "k"}))
    assert COMPILE_JOB.reuse_key(compile_requested()) != COMPILE_JOB.reuse_key(other_template)
    other_owner = rating_requested().model_copy(update={"owner_id": "u2"})
    assert RATING_JOB.reuse_key(rating_requested()) != RATING_JOB.reuse_key(other_owner)


def test_a_kinds_failure_is_its_own_finished_event() -> None:
    failed = RATING_JOB.failed("j", "gave_up", "x" * 5000)
    assert isinstance(failed, RatingFinished) and failed.outcome == "failed"
    assert failed.error is not None and len(failed.error) == 4000


def test_the_operators_view_of_a_job_stream_says_what_happened() -> None:
    events = [compile_requested(), CompileStarted(job_id="j", attempt=1, worker="w"),
              CompileFinished(job_id="j", outcome="failed", error_code="compile_failed",
                              error="TeX reported an error")]
    envelopes = [EventEnvelope(event_id=uuid4(), event_type=e.event_type, stream_id="j",
                               stream_version=n, occurred_at=datetime.now(UTC),
                               payload=e.model_dump(mode="json"))
                 for n, e in enumerate(events, start=1)]
    view = job_stream_view(COMPILE_JOB)
    assert view.describe(envelopes) == ["requested by u1 for resume r1",
                                        "attempt 1 started by w", "failed (compile_failed)"]
    state = view.fold("j", envelopes)
    assert (state["status"], state["attempts"], state["input"]["template"], state["error"]) == (
        "failed", 1, "classic", "TeX reported an error")
