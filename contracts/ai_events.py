"""Events of ai_service, and the rating they carry.

A rating job is one stream in the shape every job has (contracts.jobs): `RatingRequested`
opens it, `RatingStarted` follows each time a worker takes it, one `RatingFinished` closes it.
Streams written before that shape had `RatingCompleted` or `RatingFailed` as their last event,
and no start; they are read as `RatingFinished` (`AI_UPCASTERS`). The request names the exact
input (resume version and a hash of what the model is shown), the model and the prompt
version, which together decide whether a stored rating can be served again instead of paying
for a new one.
"""

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.jobs import JobEvent, JobFinished, JobRequested, JobStarted

Score = Annotated[int, Field(ge=0, le=100)]
Remark = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class SectionRating(BaseModel):
    """The score of one section of the resume, with the reason for it."""

    model_config = ConfigDict(frozen=True)

    section: Name = Field(description="The section's title as written in the resume.")
    score: Score = Field(description="0 (poor) to 100 (excellent).")
    comment: Remark = Field(description="Why the section earned this score.")


class Suggestion(BaseModel):
    """One concrete change, located in the resume."""

    model_config = ConfigDict(frozen=True)

    section: Name = Field(description="Title of the section it applies to.")
    item: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] | None = Field(
        None, description="Title of the item inside that section, when it is about one item.")
    suggestion: Remark = Field(description="What to change, concretely.")


class Rating(BaseModel):
    """A resume's rating: what the model must return, validated before it is stored."""

    model_config = ConfigDict(frozen=True)

    overall_score: Score = Field(description="The resume as a whole, 0 to 100.")
    sections: list[SectionRating] = Field(min_length=1, max_length=40,
                                          description="A score and a comment per section.")
    strengths: list[Remark] = Field(min_length=1, max_length=20)
    weaknesses: list[Remark] = Field(max_length=20)
    suggestions: list[Suggestion] = Field(min_length=1, max_length=40)


FailureCode = Literal[
    "timeout", "invalid_output", "model_error", "model_rate_limited", "resume_unavailable",
    "gave_up", "stale", "cancelled",  # the job machinery's own (runtime.jobs)
]


class RatingRequested(JobRequested):
    """A user asked for a rating of one version of a resume; a worker will call the model."""

    event_type: ClassVar[str] = "RatingRequested"
    resume_version: int = Field(ge=1, description="The resume version to rate.")
    content_hash: str = Field(description="SHA-256 of exactly what the model is shown.")
    model: str = Field(description="The Gemini model that will rate it.")
    prompt_version: str = Field(description="Version of the instructions given to the model.")


class RatingStarted(JobStarted):
    event_type: ClassVar[str] = "RatingStarted"


class RatingFinished(JobFinished):
    """`succeeded`: the model's answer passed validation and `rating` is the result;
    `failed`: `error_code` and `error` say why."""

    event_type: ClassVar[str] = "RatingFinished"
    error_code: FailureCode | None = None
    rating: Rating | None = None
    model_calls: int = Field(0, ge=0, description="Calls made to the model, retries included.")


AI_EVENTS: dict[str, type[JobEvent]] = {
    cls.event_type: cls for cls in (RatingRequested, RatingStarted, RatingFinished)
}


def _completed_as_finished(payload: dict[str, Any]) -> dict[str, Any]:
    return {"job_id": payload["job_id"], "outcome": "succeeded", "rating": payload["rating"],
            "model_calls": payload["model_calls"]}


def _failed_as_finished(payload: dict[str, Any]) -> dict[str, Any]:
    return {"job_id": payload["job_id"], "outcome": "failed", "error_code": payload["code"],
            "error": payload["reason"], "model_calls": payload.get("model_calls", 0)}


# Events stored before ratings took the common job shape (contracts.jobs) are read as the
# event that replaced them: (type, schema version) -> (new type, new version, payload mapper).
Upcaster = tuple[str, int, Callable[[dict[str, Any]], dict[str, Any]]]
AI_UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("RatingCompleted", 1): (RatingFinished.event_type, 1, _completed_as_finished),
    ("RatingFailed", 1): (RatingFinished.event_type, 1, _failed_as_finished),
}
