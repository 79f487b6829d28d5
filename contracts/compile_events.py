"""Events of compile_service: a compile job (contracts.jobs gives the shape).

`CompileRequested` -> `CompileStarted` (once per attempt; a redelivered job starts again)
-> `CompileFinished` with `succeeded` or `failed`. A job whose PDF was already stored finishes
right after it was requested, without a start. Routing keys: ``compile.<EventType>``; the
workers' queue binds ``compile.CompileRequested``.
"""

from typing import ClassVar

from pydantic import Field

from contracts.jobs import JobEvent, JobFinished, JobRequested, JobStarted


class CompileRequested(JobRequested):
    """A user asked for a PDF of one version of a resume in one template."""

    event_type: ClassVar[str] = "CompileRequested"
    resume_version: int = Field(ge=1, description="Exactly the version compiled.")
    template: str = Field(description="Template name, e.g. classic.")
    engine: str = Field(description="The engine that runs the template, e.g. pdflatex.")
    title: str = Field("", description="The resume title at that version (the PDF's name).")
    options: dict[str, str | float] = Field(
        default_factory=dict,
        description="The template's options, resolved (every declared one, as asked or by "
                    "default); empty for a template that declares none, and in events "
                    "recorded before options existed.")


class CompileStarted(JobStarted):
    event_type: ClassVar[str] = "CompileStarted"


class CompileFinished(JobFinished):
    """The job's outcome; `error` is the TeX log excerpt when it failed."""

    event_type: ClassVar[str] = "CompileFinished"
    artifact_key: str | None = Field(None, description="Content address of the PDF.")
    cached: bool = Field(False, description="True when the PDF was already stored.")
    engine_ms: int | None = Field(None, description="Time spent in the TeX engine.")


COMPILE_EVENTS: dict[str, type[JobEvent]] = {
    cls.event_type: cls for cls in (CompileRequested, CompileStarted, CompileFinished)
}
