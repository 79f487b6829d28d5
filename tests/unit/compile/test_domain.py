"""The job aggregate without I/O: given events, when a command, then events."""

from dataclasses import replace

import pytest

from compile_service.domain import (
    FinishAttempt,
    JobExists,
    JobState,
    RequestCompile,
    StartAttempt,
    UnknownJob,
    decide,
    fold,
)
from contracts.compile_events import CompileFinished, CompileRequested, CompileStarted

REQUEST = RequestCompile("u1", "r1", 3, "classic", "pdflatex", "CV")


def requested() -> CompileRequested:
    return CompileRequested(job_id="j", resume_id="r1", owner_id="u1", resume_version=3,
                            template="classic", engine="pdflatex", title="CV")


def test_a_request_queues_the_job() -> None:
    events = decide(JobState("j"), REQUEST)
    assert events == [requested()]
    assert fold("j", events).status == "queued"


def test_a_request_whose_pdf_is_stored_finishes_at_once() -> None:
    events = decide(JobState("j"), replace(REQUEST, stored_artifact="k" * 64))
    assert [e.event_type for e in events] == ["CompileRequested", "CompileFinished"]
    state = fold("j", events)
    assert state.status == "succeeded" and state.artifact_key == "k" * 64


def test_a_second_request_for_the_same_job_id_is_refused() -> None:
    with pytest.raises(JobExists):
        decide(fold("j", [requested()]), REQUEST)


def test_each_start_counts_an_attempt() -> None:
    state = fold("j", [requested()])
    first = decide(state, StartAttempt("w1"))
    assert first == [CompileStarted(job_id="j", attempt=1, worker="w1")]
    state = fold("j", [requested(), *first])
    assert decide(state, StartAttempt("w2"))[0].attempt == 2  # type: ignore[attr-defined]


def test_a_finished_job_ignores_redelivered_starts_and_finishes() -> None:
    done = CompileFinished(job_id="j", outcome="failed", error="boom")
    state = fold("j", [requested(), CompileStarted(job_id="j", attempt=1, worker="w"), done])
    assert state.finished
    assert decide(state, StartAttempt("w2")) == []
    assert decide(state, FinishAttempt("succeeded", artifact_key="k")) == []


def test_work_on_an_unknown_job_is_refused() -> None:
    with pytest.raises(UnknownJob):
        decide(JobState("nope"), StartAttempt("w"))
