"""What the API returns: a rating job with its status and, once succeeded, its rating; an
import job with its status and, once succeeded, the resume it created."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from contracts.ai_events import FileKind, Rating
from runtime.jobs import Status


class JobError(BaseModel):
    code: str
    message: str


class AiJobOut(BaseModel):
    """What every ai_service job shows of its lifecycle."""

    error: JobError | None = None
    model_calls: int
    attempts: int = Field(description="Deliveries of the job that reached a worker.")
    requested_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


def lifecycle_out(row: Any) -> dict[str, Any]:
    """The JSON of `AiJobOut`'s fields of a job row."""
    error = {"code": row.error_code, "message": row.error} if row.status == "failed" else None
    return {"error": error, "model_calls": (row.result or {}).get("model_calls", 0),
            "attempts": row.attempts, "requested_at": row.requested_at,
            "started_at": row.started_at, "finished_at": row.finished_at}


class RatingJobOut(AiJobOut):
    job_id: str
    resume_id: str
    resume_version: int
    status: Status
    cached: bool = Field(description="True when an earlier rating of the same content was "
                                     "returned instead of making a new one.")
    model: str
    prompt_version: str
    content_hash: str
    rating: Rating | None = None


def job_out(row: Any, cached: bool = False) -> dict[str, Any]:
    """The JSON of a job row (kept as a dict: the stored rating was validated already)."""
    request, result = row.input, row.result or {}
    return {
        "job_id": row.job_id, "resume_id": row.resume_id,
        "resume_version": request["resume_version"], "status": row.status, "cached": cached,
        "model": request["model"], "prompt_version": request["prompt_version"],
        "content_hash": request["content_hash"], "rating": result.get("rating"),
        **lifecycle_out(row),
    }


class ImportJobOut(AiJobOut):
    job_id: str
    status: Status
    cached: bool = Field(description="True when an earlier import of the same file was "
                                     "returned instead of reading it again.")
    file_name: str
    file_kind: FileKind
    content_hash: str = Field(description="SHA-256 of the file's bytes.")
    text_truncated: bool = Field(description="The file held more text than was read.")
    model: str
    prompt_version: str
    resume_id: str | None = Field(None, description="Once succeeded: the resume created from "
                                  "the file (it reaches resume_service moments after).")
    shortened: int = Field(0, description="Fields of the model's answer cut to the "
                                          "document's limits.")


def import_job_out(row: Any, cached: bool = False) -> dict[str, Any]:
    """The JSON of an import job row; never the file's text."""
    request, result = row.input, row.result or {}
    return {
        "job_id": row.job_id, "status": row.status, "cached": cached,
        "file_name": request["file_name"], "file_kind": request["file_kind"],
        "content_hash": request["content_hash"], "text_truncated": request["text_truncated"],
        "model": request["model"], "prompt_version": request["prompt_version"],
        "resume_id": row.resume_id if row.status == "succeeded" else None,
        "shortened": result.get("shortened", 0), **lifecycle_out(row),
    }
