"""Events of compile_service: a compile job is a stream of its own.

`CompileRequested` -> `CompileStarted` (once per attempt; a redelivered job starts again)
-> `CompileFinished` with `succeeded` or `failed`. A job whose PDF was already stored finishes
right after it was requested, without a start. Routing keys: ``compile.<EventType>``; the
workers' queue binds ``compile.CompileRequested``.
"""

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["succeeded", "failed"]


class CompileEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    job_id: str = Field(description="The job (stream) id.")


class CompileRequested(CompileEvent):
    """A user asked for a PDF of one version of a resume in one template."""

    event_type: ClassVar[str] = "CompileRequested"
    resume_id: str = Field(description="The resume to compile.")
    owner_id: str = Field(description="The resume's owner, who asked.")
    resume_version: int = Field(ge=1, description="Exactly the version compiled.")
    template: str = Field(description="Template name, e.g. classic.")
    engine: str = Field(description="The engine that runs the template, e.g. pdflatex.")
    title: str = Field("", description="The resume title at that version (the PDF's name).")


class CompileStarted(CompileEvent):
    """A worker took the job; `attempt` counts deliveries that reached a worker."""

    event_type: ClassVar[str] = "CompileStarted"
    attempt: int = Field(ge=1)
    worker: str = Field(description="host:pid of the worker, for operators.")


class CompileFinished(CompileEvent):
    """The job's outcome; nothing follows it in the stream."""

    event_type: ClassVar[str] = "CompileFinished"
    outcome: Outcome
    artifact_key: str | None = Field(None, description="Content address of the PDF.")
    cached: bool = Field(False, description="True when the PDF was already stored.")
    engine_ms: int | None = Field(None, description="Time spent in the TeX engine.")
    error: str | None = Field(None, description="Readable reason when failed.")


COMPILE_EVENTS: dict[str, type[CompileEvent]] = {
    cls.event_type: cls for cls in (CompileRequested, CompileStarted, CompileFinished)
}
