"""The shape every job's events share, whatever the job does.

A job is a stream of its own: `<Kind>Requested` opens it, `<Kind>Started` follows each time a
worker takes it (`attempt` counts them), and one `<Kind>Finished` with `outcome` `succeeded`
or `failed` closes it; nothing follows that. A job whose result exists already may finish
right after it was requested, without a start. A kind's events subclass these: its request
adds the job's input, its finish adds the job's result.
"""

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["succeeded", "failed"]


class JobEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    job_id: str = Field(description="The job (stream) id.")


class JobRequested(JobEvent):
    """A user asked for a job about one of their resumes; subclasses add the input."""

    owner_id: str = Field(description="The user who asked, who owns the job.")
    resume_id: str = Field(description="The resume the job is about.")


class JobStarted(JobEvent):
    """A worker took the job; `attempt` counts deliveries that reached a worker."""

    attempt: int = Field(ge=1)
    worker: str = Field(description="host:pid of the worker, for operators.")


class JobFinished(JobEvent):
    """The job's outcome; subclasses add the result."""

    outcome: Outcome
    error_code: str | None = Field(None, description="Why it failed, for programs: a kind's "
                                   "own codes, and the job machinery's `gave_up`, `stale` "
                                   "and `cancelled` (its owner stopped it).")
    error: str | None = Field(None, max_length=4000,
                              description="Why it failed, in words a user can act on.")


# what a kind adds to these is its input, and its result
REQUEST_FIELDS: set[str] = set(JobRequested.model_fields)
FINISH_FIELDS: set[str] = set(JobFinished.model_fields)
