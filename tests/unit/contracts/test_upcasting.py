"""Events stored before ratings took the common job shape read as today's events, with
exactly the fields they had (contracts.upcasting)."""

from contracts.ai_events import AI_EVENTS, RatingFinished
from contracts.compile_events import COMPILE_EVENTS
from contracts.upcasting import upcast
from tests.fakes.gemini import GOOD_RATING

OLD_COMPLETED = {"job_id": "j", "resume_id": "r", "owner_id": "u", "rating": GOOD_RATING,
                 "model_calls": 2}
OLD_FAILED = {"job_id": "j", "resume_id": "r", "owner_id": "u", "code": "timeout",
              "reason": "the model did not answer within 60 s", "model_calls": 4}


def test_an_old_completed_rating_reads_as_a_succeeded_finish() -> None:
    event_type, version, payload = upcast("RatingCompleted", 1, OLD_COMPLETED)
    assert (event_type, version) == ("RatingFinished", 1)
    finished = AI_EVENTS[event_type].model_validate(payload)
    assert isinstance(finished, RatingFinished)
    assert finished.outcome == "succeeded" and finished.model_calls == 2
    assert finished.rating is not None and finished.rating.overall_score == \
        GOOD_RATING["overall_score"]


def test_an_old_failed_rating_reads_as_a_failed_finish_with_its_code_and_reason() -> None:
    event_type, _, payload = upcast("RatingFailed", 1, OLD_FAILED)
    finished = AI_EVENTS[event_type].model_validate(payload)
    assert isinstance(finished, RatingFinished)
    assert (finished.outcome, finished.error_code, finished.error, finished.model_calls) == (
        "failed", "timeout", OLD_FAILED["reason"], 4)


def test_todays_events_pass_unchanged() -> None:
    payload = {"job_id": "j", "attempt": 1, "worker": "w"}
    for event_type in [*AI_EVENTS, *COMPILE_EVENTS]:
        assert upcast(event_type, 1, payload) == (event_type, 1, payload)
