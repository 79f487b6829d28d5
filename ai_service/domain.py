"""The rating job: a job of the common lifecycle (runtime.jobs) whose input is exactly what
the model is shown (a hash of it, the model and the prompt version) and whose result is a
validated `Rating`. A queued, running or succeeded job answers every identical request of
the same owner, so the same input is never paid for twice; a failed one does not."""

import hashlib
from typing import Any

import orjson

from contracts.ai_events import RatingFinished, RatingRequested, RatingStarted
from runtime.jobs import JobKind


class RatingNotConfigured(Exception):
    """No GEMINI_API_KEY: new ratings cannot be made."""


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class RateLimiterUnavailable(Exception):
    """Redis is down: refuse paid work rather than let it through unlimited."""


def content_hash(model_input: Any) -> str:
    """SHA-256 of the canonical JSON of exactly what the model is shown: equal input, equal
    hash, whatever the key order."""
    return hashlib.sha256(orjson.dumps(model_input, option=orjson.OPT_SORT_KEYS)).hexdigest()


def same_input(request: RatingRequested) -> str:
    return (f"{request.owner_id}:{request.content_hash}:{request.model}:"
            f"{request.prompt_version}")


RATING_JOB = JobKind(
    name="rating", requested=RatingRequested, started=RatingStarted, finished=RatingFinished,
    reuse_key=same_input, reuse_succeeded=True, not_found_code="rating_not_found",
    noun="rating job",
)
