"""HTTP routes of ai_service (the gateway adds the `/api` prefix).

Ownership is checked once per route, by `OwnedResume` or runtime.jobs' `WaitedJob`: another
user's resume or job answers 404 exactly like a missing one."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, FastAPI, Request
from pydantic import BaseModel, Field

from ai_service.domain import RateLimited, RateLimiterUnavailable, RatingNotConfigured
from ai_service.views import RatingJobOut, job_out
from ai_service.wiring import Service
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
from runtime.jobs import WaitedJob, install_job_error_handlers
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


def install_domain_error_handlers(app: FastAPI) -> None:
    install_job_error_handlers(app)

    @app.exception_handler(ResumeNotFound)
    async def _no_resume(*_: object) -> OrjsonResponse:
        return error_response(404, "resume_not_found", "no such resume (or version)")

    @app.exception_handler(RatingNotConfigured)
    async def _not_configured(*_: object) -> OrjsonResponse:
        return error_response(503, "ai_not_configured", NOT_CONFIGURED)

    @app.exception_handler(RateLimited)
    async def _limited(_: Request, exc: RateLimited) -> OrjsonResponse:
        return error_response(429, "rate_limited",
                              f"too many ratings; try again in {exc.retry_after} s",
                              retry_after=exc.retry_after)

    @app.exception_handler(RateLimiterUnavailable)
    async def _no_limiter(*_: object) -> OrjsonResponse:
        return error_response(503, "rate_limiter_unavailable",
                              "ratings are paused: the rate limiter is unavailable",
                              retry_after=1)
