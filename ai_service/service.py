"""The use cases of ai_service, each one unit of work.

Requesting a rating: the resume version's model input is hashed; a pending or completed job
of the same owner for the same hash, model and prompt version is returned instead of paying
again; otherwise, under a transaction lock on (owner, hash) so identical requests racing
each other make one job, the user's rate limit is taken and `RatingRequested` is appended
(its outbox row sends it to the workers) together with the read-model row.
Closing a job (the worker): lock its read-model row, decide, append and update it in one
transaction; the row's trigger NOTIFYs the waiters of that job when it commits.
"""

import logging
from typing import Any
from uuid import uuid4

from redis.exceptions import RedisError
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_service import projections
from ai_service.domain import (
    CompleteRating,
    FailRating,
    RatingJob,
    RequestRating,
    content_hash,
    decide,
)
from ai_service.metrics import count_rate_limited, count_reuse
from ai_service.prompt import PROMPT_VERSION, model_input
from ai_service.ratelimit import RateLimiter
from ai_service.tables import SCHEMA, resume_replica
from contracts.ai_events import RatingEvent
from runtime.eventstore import EventStore, NewEvent, VersionConflict, schema_lock_key
from runtime.replica import owned_version, wait_for_version

log = logging.getLogger(__name__)

FINISHED_CHANNEL = "ai_rating_finished"
_REQUEST_LOCK_SPACE = schema_lock_key(SCHEMA, "rating-request") - 2**31  # int4
_REQUEST_LOCK = select(func.pg_advisory_xact_lock(_REQUEST_LOCK_SPACE,
                                                  func.hashtext(bindparam("key"))))


class ResumeNotFound(Exception):
    """No such resume (or version) of this owner in the replica."""


class RatingNotConfigured(Exception):
    """No GEMINI_API_KEY: new ratings cannot be made."""


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class RateLimiterUnavailable(Exception):
    """Redis is down: refuse paid work rather than let it through unlimited."""


def job_from_row(job_id: str, row: Any) -> RatingJob:
    return RatingJob(job_id, version=row.stream_version, status=row.status,
                     owner_id=row.owner_id, resume_id=row.resume_id,
                     resume_version=row.resume_version, content_hash=row.content_hash,
                     model=row.model, prompt_version=row.prompt_version)


class RatingService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 reads: async_sessionmaker[AsyncSession], store: EventStore,
                 limiter: RateLimiter, model: str, configured: bool) -> None:
        self.sessions, self.reads, self.store, self.limiter = sessions, reads, store, limiter
        self.model, self.configured = model, configured

    async def request(self, owner_id: str, resume_id: str, version: int | None,
                      version_wait_seconds: float) -> tuple[Any, bool]:
        """The job for the owner's resume at `version` (default: the latest), and whether it
        was created now. A version not in the replica yet is waited for, a little."""
        async with self.sessions.begin() as session:
            resume = await owned_version(session, resume_replica, owner_id, resume_id, version)
            if resume is not None:
                return await self._request(session, owner_id, resume)
        if version is not None:  # it may still be on its way from resume_service
            resume = await wait_for_version(self.sessions, resume_replica, owner_id, resume_id,
                                            version, version_wait_seconds)
        if resume is None:
            raise ResumeNotFound(resume_id)
        async with self.sessions.begin() as session:
            return await self._request(session, owner_id, resume)

    async def _request(self, session: AsyncSession, owner_id: str,
                       resume: Any) -> tuple[Any, bool]:
        command = RequestRating(owner_id, resume.resume_id, resume.version,
                                content_hash(model_input(resume.document or {})),
                                self.model, PROMPT_VERSION)
        existing = await self._reusable(session, command)
        if existing is None:  # else the fast path: rated (or being rated) already
            if not self.configured:
                raise RatingNotConfigured
            # identical requests queue here, so only the first takes a rate-limit slot;
            # each statement reads what committed before it, so the check is fresh
            await session.execute(_REQUEST_LOCK,
                                  {"key": f"{owner_id}:{command.content_hash}"})
            existing = await self._reusable(session, command)
        count_reuse(hit=existing is not None)
        if existing is not None:
            return existing, False
        await self._take_rate_limit(owner_id)
        job = RatingJob(str(uuid4()))  # a new random stream: nobody else writes to it
        return await self._record(session, job, decide(job, command), owner_id,
                                  version_locked=True), True

    async def _reusable(self, session: AsyncSession, command: RequestRating) -> Any:
        return await projections.reusable_job(session, command.owner_id, command.content_hash,
                                              command.model, command.prompt_version)

    async def _take_rate_limit(self, owner_id: str) -> None:
        try:
            retry_after = await self.limiter.acquire(owner_id)
        except RedisError as exc:
            log.error("rate limiter unavailable: %r", exc)
            raise RateLimiterUnavailable from exc
        if retry_after is not None:
            count_rate_limited()
            raise RateLimited(retry_after)

    async def _record(self, session: AsyncSession, state: RatingJob, events: list[RatingEvent],
                      owner_id: str, causation_id: str | None = None,
                      version_locked: bool = False) -> Any:
        """Append and apply the events; the read-model row the first one created, if any."""
        new = [NewEvent(e.event_type, e.model_dump(mode="json"), e.schema_version)
               for e in events]
        stored = await self.store.append(session, state.job_id, state.version, new,
                                         user_id=owner_id, causation_id=causation_id,
                                         version_locked=version_locked)
        rows = [await projections.apply_rating_event(session, e) for e in stored]
        return rows[0]

    async def job(self, owner_id: str, job_id: str) -> Any:
        async with self.reads() as session:
            return await projections.owned_job(session, owner_id, job_id)

    async def latest(self, owner_id: str, resume_id: str) -> Any:
        async with self.reads() as session:
            return await projections.latest_completed(session, owner_id, resume_id)

    # --- the worker's side ---

    async def locked_job(self, session: AsyncSession, job_id: str) -> RatingJob:
        """The job's state from its read-model row, which moves in step with its stream
        (same transactions), locked so that closers of one job queue up."""
        row = await projections.job_for_update(session, job_id)
        return job_from_row(job_id, row) if row is not None else RatingJob(job_id)

    async def pending_input(self, job_id: str) -> tuple[bool, dict[str, Any] | None]:
        """Whether the job still waits for its outcome, and what the model is to be shown
        (None when that exact input is gone: resume deleted, or the version missing)."""
        async with self.reads() as session:
            row = await projections.job_and_document(session, job_id)
        if row is None or row.status != "pending":
            return False, None
        if row.document is None:
            return True, None
        data = model_input(row.document)
        return True, (data if content_hash(data) == row.content_hash else None)

    async def close(self, job_id: str, command: CompleteRating | FailRating,
                    causation_id: str | None = None) -> bool:
        """Record the job's outcome; False when it was closed already."""
        try:
            async with self.sessions.begin() as session:
                state = await self.locked_job(session, job_id)
                events = decide(state, command)
                if not events:
                    return False
                # the row leaving `pending` NOTIFYs the waiters (trigger, migration 0002)
                await self._record(session, state, events, state.owner_id, causation_id,
                                   version_locked=True)
        except VersionConflict:
            return False  # another worker closed it between our read and our append
        return True
