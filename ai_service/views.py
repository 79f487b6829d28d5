"""What the API returns: a rating job with its status and, once completed, its rating."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.ai_events import Rating


class JobError(BaseModel):
    code: str
    message: str


class RatingJobOut(BaseModel):
    job_id: str
    resume_id: str
    resume_version: int
    status: Literal["pending", "completed", "failed"]
    cached: bool = Field(description="True when an earlier rating of the same content was "
                                     "returned instead of making a new one.")
    model: str
    prompt_version: str
    content_hash: str
    rating: Rating | None = None
    error: JobError | None = None
    model_calls: int
    requested_at: datetime
    finished_at: datetime | None = None


def job_out(row: Any, cached: bool = False) -> dict[str, Any]:
    """The JSON of a ratings row (kept as a dict: the stored rating was validated already)."""
    error = {"code": row.error_code, "message": row.error} if row.status == "failed" else None
    return {
        "job_id": row.job_id, "resume_id": row.resume_id, "resume_version": row.resume_version,
        "status": row.status, "cached": cached, "model": row.model,
        "prompt_version": row.prompt_version, "content_hash": row.content_hash,
        "rating": row.rating, "error": error, "model_calls": row.model_calls,
        "requested_at": row.requested_at, "finished_at": row.finished_at,
    }
