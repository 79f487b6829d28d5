"""Events of ai_service, and the rating they carry.

A rating job is one stream: `RatingRequested` opens it, then exactly one of `RatingCompleted`
or `RatingFailed` closes it. The request names the exact input (resume version and a hash of
what the model is shown), the model and the prompt version, which together decide whether a
stored rating can be served again instead of paying for a new one.
"""

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
]


class RatingEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    job_id: str = Field(description="The rating job (stream) id.")
    resume_id: str = Field(description="The resume being rated.")
    owner_id: str = Field(description="The user who owns the resume and the job.")


class RatingRequested(RatingEvent):
    """A user asked for a rating of one version of a resume; a worker will call the model."""

    event_type: ClassVar[str] = "RatingRequested"
    resume_version: int = Field(ge=1, description="The resume version to rate.")
    content_hash: str = Field(description="SHA-256 of exactly what the model is shown.")
    model: str = Field(description="The Gemini model that will rate it.")
    prompt_version: str = Field(description="Version of the instructions given to the model.")


class RatingCompleted(RatingEvent):
    """The model's answer passed validation and is the job's result."""

    event_type: ClassVar[str] = "RatingCompleted"
    rating: Rating
    model_calls: int = Field(ge=1, description="Calls made to the model, retries included.")


class RatingFailed(RatingEvent):
    """The job ended without a rating; `reason` says why in words a user can act on."""

    event_type: ClassVar[str] = "RatingFailed"
    code: FailureCode
    reason: str = Field(max_length=2000)
    model_calls: int = Field(0, ge=0, description="Calls made to the model, retries included.")


AI_EVENTS: dict[str, type[RatingEvent]] = {
    cls.event_type: cls for cls in (RatingRequested, RatingCompleted, RatingFailed)
}
