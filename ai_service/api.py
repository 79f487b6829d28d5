"""HTTP routes of ai_service (the gateway adds the `/api` prefix).

Ownership is checked by loading the resume or the job as its owner: another user's resume or
job answers 404 exactly like a missing one."""

from collections.abc import Awaitable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field

from ai_service.service import (
    RateLimited,
    RateLimiterUnavailable,
    RatingNotConfigured,
    RatingService,
    RequestKeptRacing,
    ResumeNotFound,
)
from ai_service.settings import AiSettings
from ai_service.tables import resume_replica
from ai_service.views import RatingJobOut, job_out
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
from runtime.replica import owned_version
from runtime.waiting import JobWaiter


class RateIn(BaseModel):
    version: Version | None = Field(None, description="The version to rate (default: the "
                                                      "latest).")


async def get_service(request: Request) -> RatingService:
    return request.app.state.service  # type: ignore[no-any-return]


Service = Annotated[RatingService, Depends(get_service)]


router = APIRouter(prefix="/ai", tags=["ai"], responses=error_responses(401, 404, 503))


@router.post("/rate/{resume_id}", response_model=RatingJobOut, status_code=202,
             responses={200: {"model": RatingJobOut, "description": "Rated before: the "
                              "stored rating"}, **error_responses(409, 413, 422, 429)},
             summary="Rate a resume version with Gemini (asynchronous, never paid twice)")
async def rate_resume(resume_id: UUID, request: Request, user: CurrentUser,
                      service: Service,
                      body: Annotated[RateIn | None, Body()] = None) -> OrjsonResponse:
    settings: AiSettings = request.app.state.settings
    row, created = await service.request(user, str(resume_id), body.version if body else None,
                                         settings.rating_version_wait_seconds)
    if row.status == "completed":
        return OrjsonResponse(job_out(row, cached=True), status_code=200)
    return OrjsonResponse(job_out(row, cached=not created), status_code=202,
                          headers={"Location": f"{public_prefix(request)}/ai/ratings/{row.job_id}"})


@router.get("/ratings/{job_id}", response_model=RatingJobOut, responses=error_responses(422),
            summary="A rating job's status and result (optionally waiting for it to finish)")
async def rating_job(job_id: UUID, request: Request, user: CurrentUser, service: Service,
                     wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait "
                                                                          "for the job to "
                                                                          "finish")] = 0,
                     ) -> OrjsonResponse:
    def load() -> Awaitable[Any]:
        return service.job(user, str(job_id))

    if wait > 0:  # the waiter's first load is also the ownership check
        settings: AiSettings = request.app.state.settings
        waiter: JobWaiter = request.app.state.waiter
        job = await waiter.wait(str(job_id), min(wait, settings.rating_status_max_wait_seconds),
                                load, lambda row: row is None or row.status != "pending")
    else:
        job = await load()
    if job is None:
        raise ApiError(404, "rating_not_found", "no such rating job")
    return OrjsonResponse(job_out(job))


@router.get("/rate/{resume_id}", response_model=RatingJobOut, responses=error_responses(422),
            summary="The latest completed rating of a resume")
async def latest_rating(resume_id: UUID, user: CurrentUser, service: Service) -> OrjsonResponse:
    async with service.reads() as session:
        resume = await owned_version(session, resume_replica, user, str(resume_id))
    if resume is None:
        raise ResumeNotFound(str(resume_id))
    row = await service.latest(user, str(resume_id))
    if row is None:
        raise ApiError(404, "rating_not_found", "this resume has no rating yet")
    return OrjsonResponse(job_out(row))


def install_domain_error_handlers(app: FastAPI) -> None:
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

    @app.exception_handler(RequestKeptRacing)
    async def _kept_racing(*_: object) -> OrjsonResponse:
        return error_response(409, "rating_request_conflict",
                              "identical rating requests kept racing; try again")

    @app.exception_handler(RateLimiterUnavailable)
    async def _no_limiter(*_: object) -> OrjsonResponse:
        return error_response(503, "rate_limiter_unavailable",
                              "ratings are paused: the rate limiter is unavailable",
                              retry_after=1)
