"""The routes of a user's data export (auth_service/exports.py): start or find it, its
status (a long poll with `?wait=`, as every job's), and its archive once it succeeded."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from auth_service.exports import ExportExpired, ExportNotReady
from auth_service.wiring import Exports
from runtime.downloads import content_disposition
from runtime.http import OrjsonResponse, error_response, error_responses, public_prefix
from runtime.identity import CurrentUser
from runtime.jobs import OwnedJob, Status, WaitedJob, install_job_error_handlers

export_router = APIRouter(tags=["privacy"], responses=error_responses(401, 503))


class ExportError(BaseModel):
    code: str
    message: str


class ExportOut(BaseModel):
    job_id: str
    status: Status
    status_url: str = Field(description="Where to ask for the status (`?wait=s` long-polls).")
    archive_url: str | None = Field(None, description="The zip, once `succeeded`.")
    size_bytes: int | None = None
    files: int | None = Field(None, description="Files in the archive.")
    sha256: str | None = Field(None, description="Hex SHA-256 of the archive.")
    expires_at: datetime | None = Field(None, description="When the archive is deleted.")
    error: ExportError | None = None
    attempts: int
    requested_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


def export_out(row: Any, prefix: str) -> ExportOut:
    result, status_url = row.result or {}, f"{prefix}/user/me/exports/{row.job_id}"
    return ExportOut(
        job_id=row.job_id, status=row.status, status_url=status_url,
        archive_url=f"{status_url}/archive" if row.status == "succeeded" else None,
        size_bytes=result.get("size_bytes"), files=result.get("files"),
        sha256=result.get("sha256"), expires_at=result.get("expires_at"),
        error=(ExportError(code=row.error_code or "failed", message=row.error or "")
               if row.status == "failed" else None),
        attempts=row.attempts, requested_at=row.requested_at, started_at=row.started_at,
        finished_at=row.finished_at)


@export_router.get(
    "/user/me/export", response_model=ExportOut, status_code=202,
    responses={200: {"model": ExportOut, "description": "An export that succeeded within "
                     "`EXPORT_REUSE_SECONDS` and is still stored: `archive_url` is ready"},
               202: {"description": "The export is queued or running (a new one, or the "
                                    "one already under way): poll `status_url`"},
               **error_responses(409)},
    summary="Export every piece of data held about the caller, as one zip archive")
async def start_export(user: CurrentUser, exports: Exports, request: Request) -> Response:
    row, _ = await exports.start(user)
    out = export_out(row, public_prefix(request))
    return OrjsonResponse(out.model_dump(mode="json"),
                          status_code=200 if row.status == "succeeded" else 202,
                          headers={"Location": out.status_url})


@export_router.get("/user/me/exports/{job_id}", response_model=ExportOut,
                   responses=error_responses(404, 422),
                   summary="An export's status; `wait` long-polls up to that many seconds")
async def export_status(job: WaitedJob, request: Request) -> ExportOut:
    return export_out(job, public_prefix(request))


@export_router.get(
    "/user/me/exports/{job_id}/archive", response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}},
                     "description": "The archive (README.md inside says what each file is)"},
               **error_responses(404, 409, 410, 422)},
    summary="Download a succeeded export's zip archive")
async def export_archive(job: OwnedJob, exports: Exports) -> Response:
    stored = await exports.archive(job)
    headers = {"Content-Length": str(stored.size_bytes), "ETag": f'"{stored.sha256}"',
               "Cache-Control": "private, no-store",
               "Content-Disposition": content_disposition(
                   f"account-export-{job.finished_at:%Y-%m-%d}", "zip")}
    return StreamingResponse(exports.archives.chunks(stored), media_type="application/zip",
                             headers=headers)


def install_export_error_handlers(app: FastAPI) -> None:
    install_job_error_handlers(app)

    @app.exception_handler(ExportNotReady)
    async def _not_ready(_: Request, exc: ExportNotReady) -> OrjsonResponse:
        return error_response(409, "export_not_ready", f"the export is {exc.status}, not "
                              "succeeded", job_status=exc.status)

    @app.exception_handler(ExportExpired)
    async def _expired(*_: object) -> OrjsonResponse:
        return error_response(410, "export_expired", "the archive is no longer kept; ask "
                              "for a new export")
