"""Events stored before ratings took the common job shape read as today's events, with
exactly the fields they had (contracts.upcasting)."""

from contracts.ai_events import AI_EVENTS, RatingFinished
from contracts.compile_events import COMPILE_EVENTS
from contracts.resume_events import RESUME_EVENTS, ResumeCreated, ResumeDeleted, ResumeUpdated
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


def test_a_version_1_resume_event_reads_as_today_in_english_with_every_field() -> None:
    document = {"title": "Old", "template": "classic", "sections": [
        {"id": "00000000-0000-4000-8000-000000000001", "title": "Jobs", "kind": "experience",
         "items": [{"id": "00000000-0000-4000-8000-000000000002", "title": "Dev"}]}]}
    for event_type in ("ResumeCreated", "ResumeUpdated"):
        payload = {"resume_id": "r", "owner_id": "u", "document": document}
        read_type, version, read = upcast(event_type, 1, payload)
        assert (read_type, version) == (event_type, 3)
        assert read["document"]["locale"] == "en"
        assert read["document"]["contact"]["address"]["city"] == ""
        assert read["document"]["sections"][0]["items"][0]["keywords"] == []
        event = RESUME_EVENTS[read_type].model_validate(read)
        assert isinstance(event, ResumeCreated | ResumeUpdated)
        assert event.document.title == "Old"
        assert payload["document"] == document  # the stored payload is left as it was


def test_a_version_2_resume_event_keeps_its_locale() -> None:
    payload = {"resume_id": "r", "owner_id": "u", "document": {"locale": "ar"}}
    _, version, read = upcast("ResumeUpdated", 2, payload)
    assert (version, read["document"]["locale"]) == (3, "ar")


def test_todays_resume_events_and_a_deletion_pass_unchanged() -> None:
    payload = {"resume_id": "r", "owner_id": "u", "document": {"locale": "ar"}}
    assert upcast("ResumeUpdated", 3, payload) == ("ResumeUpdated", 3, payload)
    deleted = {"resume_id": "r", "owner_id": "u"}
    assert upcast("ResumeDeleted", 1, deleted) == ("ResumeDeleted", 1, deleted)
    assert (ResumeCreated.schema_version, ResumeUpdated.schema_version,
            ResumeDeleted.schema_version) == (3, 3, 1)
