"""The use cases of ai_service.

Requesting a rating: the resume version's model input is hashed; a queued, running or
succeeded job of the same owner for the same hash, model and prompt version is returned
instead of paying again (runtime.jobs: the reuse key). Only when the job is new is the
user's rate limit taken, in the transaction that creates it: of identical requests racing
each other only the winner takes a slot, and a refusal rolls the job back.

Requesting an import: the same, keyed by the SHA-256 of the uploaded file's bytes; the job
carries the text extracted from the file (ai_service.uploads) and the id of the resume it
will create. Ratings and imports take slots of one per-user limit.
"""

import hashlib
import logging
from typing import Any

from redis.exceptions import RedisError

from ai_service.domain import (
    RateLimited,
    RateLimiterUnavailable,
    RatingNotConfigured,
    content_hash,
    imported_resume_id,
)
from ai_service.metrics import count_rate_limited, count_reuse
from ai_service.prompt import IMPORT_PROMPT_VERSION, PROMPT_VERSION, model_input
from ai_service.ratelimit import RateLimiter
from ai_service.tables import resume_replica
from ai_service.uploads import ExtractedText
from contracts.ai_events import FileKind, ImportRequested, RatingRequested
from runtime.jobs import Jobs
from runtime.replica import ResumeNotFound, live_document, owned_version, wait_for_version

log = logging.getLogger(__name__)


class RatingService:
    def __init__(self, jobs: Jobs, limiter: RateLimiter, model: str, configured: bool,
                 version_wait_seconds: float) -> None:
        self.jobs, self.limiter, self.model, self.configured = jobs, limiter, model, configured
        self.version_wait_seconds = version_wait_seconds

    async def request(self, owner_id: str, resume_id: str, version: int | None
                      ) -> tuple[Any, bool]:
        """The job for the owner's resume at `version` (default: the latest), and whether it
        was created now. A resume (or version) not in the replica yet is waited for, a
        little."""
        resume = await wait_for_version(self.jobs.reads, resume_replica, owner_id, resume_id,
                                        version, self.version_wait_seconds)
        if resume is None:
            raise ResumeNotFound(resume_id)
        requested = RatingRequested(
            job_id=self.jobs.new_id(), owner_id=owner_id, resume_id=resume_id,
            resume_version=resume.version,
            content_hash=content_hash(model_input(resume.document or {})), model=self.model,
            prompt_version=PROMPT_VERSION)
        row, created = await self.jobs.request(
            requested, admit=lambda: admit(self.limiter, self.configured, owner_id))
        count_reuse(hit=not created)
        return row, created

    async def owns_resume(self, owner_id: str, resume_id: str) -> bool:
        async with self.jobs.reads() as session:
            return await owned_version(session, resume_replica, owner_id, resume_id) is not None

    async def model_input_of(self, request: RatingRequested) -> dict[str, Any] | None:
        """What the model is to be shown for this job; None when that exact input is gone
        (the resume was deleted, or the version is missing)."""
        document = await live_document(self.jobs.reads, resume_replica, request.owner_id,
                                       request.resume_id, request.resume_version)
        if document is None:
            return None
        data = model_input(document)
        return data if content_hash(data) == request.content_hash else None


async def admit(limiter: RateLimiter, configured: bool, owner_id: str) -> None:
    """Take a slot of the owner's limit for new paid work (ratings and imports share it)."""
    if not configured:
        raise RatingNotConfigured
    try:
        retry_after = await limiter.acquire(owner_id)
    except RedisError as exc:
        log.error("rate limiter unavailable: %r", exc)
        raise RateLimiterUnavailable from exc
    if retry_after is not None:
        count_rate_limited()
        raise RateLimited(retry_after)


class ImportService:
    def __init__(self, jobs: Jobs, limiter: RateLimiter, model: str, configured: bool) -> None:
        self.jobs, self.limiter, self.model, self.configured = jobs, limiter, model, configured

    async def request(self, owner_id: str, file_name: str, kind: FileKind, data: bytes,
                      extracted: ExtractedText) -> tuple[Any, bool]:
        """The import job for this file of the owner's (an earlier one of the same bytes when
        it is queued, running or succeeded), and whether it was created now."""
        job_id = self.jobs.new_id()
        requested = ImportRequested(
            job_id=job_id, owner_id=owner_id, resume_id=imported_resume_id(job_id),
            file_name=file_name, file_kind=kind, file_bytes=len(data),
            content_hash=hashlib.sha256(data).hexdigest(), text=extracted.text,
            text_truncated=extracted.truncated, model=self.model,
            prompt_version=IMPORT_PROMPT_VERSION)
        return await self.jobs.request(
            requested, admit=lambda: admit(self.limiter, self.configured, owner_id))
