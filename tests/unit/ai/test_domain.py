"""The content hash, the prompt input and the rating's validation, without I/O (the job
lifecycle: tests/unit/runtime/test_jobs.py)."""

import pytest
from google.genai import errors

from ai_service.domain import content_hash
from ai_service.gemini import _asked_delay
from ai_service.prompt import model_input
from contracts.ai_events import Rating
from tests.fakes.gemini import GOOD_RATING


def test_the_content_hash_ignores_key_order() -> None:
    assert content_hash({"a": 1, "b": [1, {"c": 2, "d": 3}]}) == content_hash(
        {"b": [1, {"d": 3, "c": 2}], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


def test_the_model_sees_content_without_ids_layout_or_empty_fields() -> None:
    document = {"title": "T", "template": "modern", "contact": {"name": "Ada", "phone": ""},
                "sections": [{"id": "5f0c", "title": "Skills", "items": [
                    {"id": "77aa", "title": "Maths", "bullets": []}]}]}
    assert model_input(document) == {"title": "T", "contact": {"name": "Ada"}, "sections": [
        {"title": "Skills", "items": [{"title": "Maths"}]}]}


def test_the_same_content_with_new_ids_or_template_has_the_same_hash() -> None:
    one = {"title": "T", "template": "a", "sections": [{"id": "1", "title": "S"}]}
    two = {"title": "T", "template": "b", "sections": [{"id": "2", "title": "S"}]}
    assert content_hash(model_input(one)) == content_hash(model_input(two))


def test_a_rating_outside_0_to_100_does_not_validate() -> None:
    with pytest.raises(ValueError):
        Rating.model_validate({**GOOD_RATING, "overall_score": 101})


def test_suggestions_must_name_their_section() -> None:
    with pytest.raises(ValueError):
        Rating.model_validate({**GOOD_RATING, "suggestions": [{"suggestion": "Add numbers"}]})


def test_the_retry_delay_a_429_asks_for_is_read() -> None:
    body = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
                      "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                   "retryDelay": "7s"}]}}
    assert _asked_delay(errors.APIError(429, body)) == 7.0
    assert _asked_delay(errors.APIError(429, {"error": {"code": 429}})) is None
