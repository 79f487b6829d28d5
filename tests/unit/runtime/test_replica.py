"""The resume replica (runtime.replica) copies the document under the name the resume
events give it."""

from contracts.resume_events import ResumeCreated, ResumeUpdated
from runtime.replica import DOCUMENT_FIELD


def test_the_copied_document_is_the_field_the_events_that_carry_one_name() -> None:
    assert DOCUMENT_FIELD in ResumeCreated.model_fields
    assert DOCUMENT_FIELD in ResumeUpdated.model_fields
