"""Events of compile_service: a compile job (contracts.jobs gives the shape).

`CompileRequested` -> `CompileStarted` (once per attempt; a redelivered job starts again)
-> `CompileFinished` with `succeeded` or `failed`. A job whose PDF was already stored finishes
right after it was requested, without a start. Routing keys: ``compile.<EventType>``; the
workers' queue binds ``compile.CompileRequested``.
"""

from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from contracts.jobs import JobEvent, JobFinished, JobRequested, JobStarted
from contracts.share_events import ContactField


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
    hidden: list[ContactField] = Field(
        default_factory=list,
        description="Contact fields left out of the PDF (a share's PDF leaves out what the "
                    "share hides); empty for the owner's own compiles.")

    @model_serializer(mode="wrap")
    def _as_before_when_unused(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Without options (or hidden fields) the event is written in its older shape (and
        so is the job's `input`, as a rebuild from the older events gives it)."""
        data: dict[str, Any] = handler(self)
        for unused in ("options", "hidden"):
            if not data.get(unused):
                data.pop(unused, None)
        return data


class CompileStarted(JobStarted):
    event_type: ClassVar[str] = "CompileStarted"


class PageOverflow(BaseModel):
    """How far the content of a template meant for one page ran past it."""

    model_config = ConfigDict(frozen=True)
    overflowed: bool = Field(description="True when the content did not fit on one page.")
    extra_pages: int = Field(0, ge=0, description="Pages after the first.")
    past_pt: float = Field(0.0, ge=0, description="Points of content below the first page's "
                           "text area (the pages after it glued under it).")


class AtsResult(BaseModel):
    """The PDF read back as an applicant tracking system would: `found` of `checked` fields
    of the resume came out in reading order; `missing` names the others by document path
    (the first 100), `issues` what got in the way, as "code: what happened"."""

    model_config = ConfigDict(frozen=True)
    score: int = Field(ge=0, le=100)
    checked: int = Field(ge=0)
    found: int = Field(ge=0)
    missing: list[str]
    issues: list[str]


class CompileFinished(JobFinished):
    """The job's outcome; `error` is the TeX log excerpt when it failed. `pages` and
    `overflow` describe the PDF of a succeeded job (None when not known: the engine does not
    tell, the template is not meant for one page, or the job finished before they were
    recorded). `ats` is only in finishes recorded before the ATS report was made after the
    job's success: it is now stored beside the PDF (compile_service.analysis)."""

    event_type: ClassVar[str] = "CompileFinished"
    artifact_key: str | None = Field(None, description="Content address of the PDF.")
    cached: bool = Field(False, description="True when the PDF was already stored.")
    engine_ms: int | None = Field(None, description="Time spent in the TeX engine.")
    pages: int | None = Field(None, ge=1, description="The PDF's page count.")
    overflow: PageOverflow | None = Field(
        None, description="For a template meant for one page: whether and how far it ran past.")
    ats: AtsResult | None = Field(None, description="The ATS round trip of the PDF, in "
                                  "finishes recorded before it was made after them.")

    @model_serializer(mode="wrap")
    def _as_before_when_unknown(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Figures not known are left out: the event (and the job's `result`) keeps its
        older shape, as a rebuild from the older events gives it."""
        data: dict[str, Any] = handler(self)
        for name in ("pages", "overflow", "ats"):
            if data.get(name, 0) is None:
                del data[name]
        return data


COMPILE_EVENTS: dict[str, type[JobEvent]] = {
    cls.event_type: cls for cls in (CompileRequested, CompileStarted, CompileFinished)
}
