"""What the API returns: a job's status with its timings and links, and the templates."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from compile_service.manifests import LanguageSupport, Option
from contracts.compile_events import AtsResult, PageOverflow
from runtime.bounds import Version
from runtime.jobs import Status

TEMPLATE_NAME = r"^[a-z0-9_-]+$"


class CompileIn(BaseModel):
    template: str | None = Field(None, max_length=64, pattern=TEMPLATE_NAME,
                                 description="Template name; default: the resume's own.")
    version: Version | None = Field(None, description="Compile exactly this version (waits "
                                    "a bounded time for it to arrive); default: the latest.")
    options: dict[str, Any] = Field(
        default_factory=dict, max_length=32,
        description="The template's options (GET /compile/templates lists them with their "
                    "defaults); what is not given takes its default. 422 `invalid_options` "
                    "names each one that is not declared or out of its bounds.")


class Timings(BaseModel):
    requested_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    queued_ms: int | None = Field(None, description="From request to the (last) start.")
    engine_ms: int | None = Field(None, description="Time spent in TeX.")
    total_ms: int | None = Field(None, description="From request to outcome.")


class JobOut(BaseModel):
    job_id: str
    status: Status
    resume_id: str
    version: int
    template: str
    engine: str
    options: dict[str, str | float] = Field(
        default_factory=dict, description="The template's options it compiled with.")
    attempts: int
    cached: bool
    status_url: str
    pdf_url: str | None = Field(None, description="Where the PDF is, once succeeded.")
    error_code: str | None = Field(None, description="Why it failed, for programs: "
                                   "`compile_failed`, `resume_unavailable`, `gave_up`, "
                                   "`stale`, `cancelled` (stopped by `POST /compile/cancel`).")
    error: str | None = Field(None, description="Why it failed (TeX log excerpt).")
    pages: int | None = Field(None, description="The PDF's page count, once succeeded (None "
                              "when the engine does not tell).")
    overflow: PageOverflow | None = Field(
        None, description="For a template meant for one page: whether the content ran past "
        "it, and how far.")
    ats: AtsResult | None = Field(
        None, description="The ATS round trip of the PDF (its text read back and the "
        "resume's fields found in order). Made right after the job succeeded, so it can "
        "follow a moment later: see `ats_status`.")
    ats_status: Literal["ready", "pending", "unavailable"] | None = Field(
        None, description="For a succeeded job: `ready` (in `ats`), `pending` (being made: "
        "ask the status again in a moment), `unavailable` (the checker could not run).")
    timings: Timings


class TemplateOut(BaseModel):
    name: str
    engine: str
    description: str
    one_page: bool = Field(description="Meant for one page: its jobs record `overflow`.")
    options: dict[str, Option] = Field(
        description="What a compile may set in `options`, each with its kind, default and "
        "bounds (a colour as #rrggbb, a number in its unit from min to max, one of the "
        "choices); none for the LaTeX templates.")
    languages: LanguageSupport = Field(
        description="The scripts it shows and whether it lays out right to left; a resume's "
        "dates and hyphenation follow its `locale` in every template.")
    thumbnail: str = Field(description="Where a PNG of page 1 of the template on a sample "
                           "resume, at its default options, is (`GET` it with the session).")


def _ms(start: datetime | None, end: datetime | None) -> int | None:
    return int((end - start).total_seconds() * 1000) if start and end else None


def job_out(row: Any, prefix: str = "",
            ats: tuple[dict[str, Any] | None, str | None] = (None, None)) -> JobOut:
    """`prefix`: where the caller sees the API (runtime.http.public_prefix), for the links;
    `ats`: the report and its status (CompileService.ats_of)."""
    request, result = row.input, row.result or {}
    return JobOut(
        job_id=row.job_id, status=row.status, resume_id=row.resume_id,
        version=request["resume_version"], template=request["template"],
        engine=request["engine"], options=request.get("options") or {},
        attempts=row.attempts, cached=result.get("cached", False),
        status_url=f"{prefix}/compile/status/{row.job_id}",
        pdf_url=f"{prefix}/compile/pdf/{row.job_id}" if row.status == "succeeded" else None,
        error_code=row.error_code, error=row.error, pages=result.get("pages"),
        overflow=result.get("overflow"),
        ats=ats[0], ats_status=ats[1],
        timings=Timings(requested_at=row.requested_at, started_at=row.started_at,
                        finished_at=row.finished_at,
                        queued_ms=_ms(row.requested_at, row.started_at),
                        engine_ms=result.get("engine_ms"),
                        total_ms=_ms(row.requested_at, row.finished_at)),
    )
