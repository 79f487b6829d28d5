"""HTTP routes of ai_service (the gateway adds the `/api` prefix).

Ownership is checked once per route, by `OwnedResume` or runtime.jobs' `WaitedJob` (and
`WaitedImportJob`, the same for import jobs): another user's resume or job answers 404
exactly like a missing one."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, FastAPI, File, Request, UploadFile
from pydantic import BaseModel, Field

from ai_service.domain import RateLimited, RateLimiterUnavailable, RatingNotConfigured
from ai_service.uploads import (
    UnreadableFile,
    UnsupportedFile,
    extract_text,
    file_kind,
    safe_file_name,
)
from ai_service.views import ImportJobOut, RatingJobOut, import_job_out, job_out
from ai_service.wiring import Importer, Service, imports_of
from ai_service.worker import NOT_CONFIGURED
from runtime.bounds import Version
from runtime.http import (
    ApiError,
    OrjsonResponse,
    error_response,
    error_responses,
    public_prefix,
)
from runtime.identity import CurrentUser
from runtime.jobs import WaitedJob, install_job_error_handlers, waited_job_of
from runtime.replica import ResumeNotFound


class RateIn(BaseModel):
    version: Version | None = Field(None, description="The version to rate (default: the "
                                                      "latest).")


async def owned_resume(resume_id: UUID, user: CurrentUser, service: Service) -> str:
    """The path's resume when it is the caller's and live here, else 404."""
    if not await service.owns_resume(user, str(resume_id)):
        raise ResumeNotFound(str(resume_id))
    return str(resume_id)


OwnedResume = Annotated[str, Depends(owned_resume)]
WaitedImportJob = Annotated[Any, Depends(waited_job_of(imports_of))]
IMPORT_PATH = "/ai/import"


router = APIRouter(prefix="/ai", tags=["ai"], responses=error_responses(401, 404, 503))


@router.post("/rate/{resume_id}", response_model=RatingJobOut, status_code=202,
             responses={200: {"model": RatingJobOut, "description": "Rated before: the "
                              "stored rating"}, **error_responses(409, 413, 422, 429)},
             summary="Rate a resume version with Gemini (asynchronous, never paid twice)")
async def rate_resume(resume_id: UUID, request: Request, user: CurrentUser,
                      service: Service,
                      body: Annotated[RateIn | None, Body()] = None) -> OrjsonResponse:
    row, created = await service.request(user, str(resume_id), body.version if body else None)
    if row.status == "succeeded":
        return OrjsonResponse(job_out(row, cached=True), status_code=200)
    return OrjsonResponse(job_out(row, cached=not created), status_code=202,
                          headers={"Location": f"{public_prefix(request)}/ai/ratings/{row.job_id}"})


@router.get("/ratings/{job_id}", response_model=RatingJobOut, responses=error_responses(422),
            summary="A rating job's status and result (optionally waiting for it to finish)")
async def rating_job(job: WaitedJob) -> OrjsonResponse:
    return OrjsonResponse(job_out(job))


@router.get("/rate/{resume_id}", response_model=RatingJobOut, responses=error_responses(422),
            summary="The latest succeeded rating of a resume")
async def latest_rating(resume_id: OwnedResume, user: CurrentUser,
                        service: Service) -> OrjsonResponse:
    row = await service.jobs.latest_succeeded(user, resume_id)
    if row is None:
        raise ApiError(404, "rating_not_found", "this resume has no rating yet")
    return OrjsonResponse(job_out(row))


@router.post("/import", response_model=ImportJobOut, status_code=202,
             responses={200: {"model": ImportJobOut, "description": "Imported before: the "
                              "earlier import of the same file"},
                        **error_responses(400, 409, 413, 415, 422, 429)},
             summary="Import a resume from a PDF or DOCX file, read by Gemini (asynchronous)")
async def import_file(request: Request, user: CurrentUser, importer: Importer,
                      file: Annotated[UploadFile, File(description="The resume: a PDF or a "
                                                       "DOCX file.")]) -> OrjsonResponse:
    settings = request.app.state.settings
    data = await _read_upload(file, settings.import_max_file_bytes)
    kind = file_kind(data)
    extracted = await extract_text(kind, data, settings.import_extract_timeout_seconds)
    if not extracted.text:
        raise ApiError(422, "no_text", "the file holds no text to read (a scanned PDF?)")
    row, created = await importer.request(user, safe_file_name(file.filename, kind), kind,
                                          data, extracted)
    if row.status == "succeeded":
        return OrjsonResponse(import_job_out(row, cached=True), status_code=200)
    return OrjsonResponse(import_job_out(row, cached=not created), status_code=202,
                          headers={"Location": f"{public_prefix(request)}/ai/imports/"
                                               f"{row.job_id}"})


async def _read_upload(file: UploadFile, max_bytes: int) -> bytes:
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ApiError(413, "file_too_large", f"the file is over {max_bytes} bytes")
    return data


@router.get("/imports/{job_id}", response_model=ImportJobOut, responses=error_responses(422),
            summary="An import job's status and, once succeeded, the resume it created "
                    "(optionally waiting for it to finish)")
async def import_job(job: WaitedImportJob) -> OrjsonResponse:
    return OrjsonResponse(import_job_out(job))


def install_domain_error_handlers(app: FastAPI) -> None:
    install_job_error_handlers(app)

    @app.exception_handler(ResumeNotFound)
    async def _no_resume(*_: object) -> OrjsonResponse:
        return error_response(404, "resume_not_found", "no such resume (or version)")

    @app.exception_handler(RatingNotConfigured)
    async def _not_configured(*_: object) -> OrjsonResponse:
        return error_response(503, "ai_not_configured", NOT_CONFIGURED)

    @app.exception_handler(UnsupportedFile)
    async def _unsupported(_: Request, exc: UnsupportedFile) -> OrjsonResponse:
        return error_response(415, "unsupported_media_type",
                              str(exc) or "the file is neither a PDF nor a DOCX document")

    @app.exception_handler(UnreadableFile)
    async def _unreadable(_: Request, exc: UnreadableFile) -> OrjsonResponse:
        return error_response(422, "unreadable_file", str(exc))

    @app.exception_handler(RateLimited)
    async def _limited(_: Request, exc: RateLimited) -> OrjsonResponse:
        return error_response(429, "rate_limited",
                              f"too many AI requests; try again in {exc.retry_after} s",
                              retry_after=exc.retry_after)

    @app.exception_handler(RateLimiterUnavailable)
    async def _no_limiter(*_: object) -> OrjsonResponse:
        return error_response(503, "rate_limiter_unavailable",
                              "ratings and imports are paused: the rate limiter is "
                              "unavailable",
                              retry_after=1)
