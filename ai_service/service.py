"""The use cases of ai_service, each one unit of work.

Requesting a rating: the resume version's model input is hashed; a pending or completed job
of the same owner for the same hash, model and prompt version is returned instead of paying
again; otherwise `RatingRequested` is appended (its outbox row sends it to the workers)
together with the read-model row, whose unique index on (owner, hash, model, prompt version)
makes identical requests racing each other wait for the first: the losers roll back and
return its job. Only then is the user's rate limit taken, in the same transaction.
Closing a job (the worker): from the job's row as the worker read it, decide, append and
update the row in one transaction (a closer that lost a race fails on the stream's unique
version key); the row's trigger NOTIFYs the waiters of that job when it commits.
"""

import logging
from typing import Any
from uuid import uuid4

from redis.exceptions import RedisError
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
from ai_service.tables import resume_replica
from contracts.ai_events import RatingEvent
from runtime.eventstore import EventStore, NewEvent, VersionConflict
from runtime.replica import wait_for_version

log = logging.getLogger(__name__)

FINISHED_CHANNEL = "ai_rating_finished"


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


class IdenticalRequestWon(Exception):
    """An identical request's job committed first; this one's was rolled back."""


class RequestKeptRacing(Exception):
    """Identical requests kept replacing each other's jobs (each attempt lost a race)."""


REQUEST_ATTEMPTS = 3


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
        was created now. A resume (or version) not in the replica yet is waited for, a
        little."""
        resume = await self._owned_resume(owner_id, resume_id, version, version_wait_seconds)
        command = RequestRating(owner_id, resume.resume_id, resume.version,
                                content_hash(model_input(resume.document or {})),
                                self.model, PROMPT_VERSION)
        for _ in range(REQUEST_ATTEMPTS):
            async with self.reads() as session:
                existing = await projections.reusable_job(
                    session, command.owner_id, command.content_hash, command.model,
                    command.prompt_version)
            if existing is not None:  # the fast path: rated (or being rated) already
                count_reuse(hit=True)
                return existing, False
            if not self.configured:
                raise RatingNotConfigured
            try:
                created = await self._create(command)
            except IdenticalRequestWon:
                continue  # rolled back; the next look finds the winner's job
            count_reuse(hit=False)
            return created, True
        raise RequestKeptRacing

    async def _owned_resume(self, owner_id: str, resume_id: str, version: int | None,
                            version_wait_seconds: float) -> Any:
        # a resume created a moment ago may still be on its way from resume_service
        resume = await wait_for_version(self.reads, resume_replica, owner_id, resume_id,
                                        version, version_wait_seconds)
        if resume is None:
            raise ResumeNotFound(resume_id)
        return resume

    async def _create(self, command: RequestRating) -> Any:
        job = RatingJob(str(uuid4()))  # a new random stream: nobody else writes to it
        async with self.sessions.begin() as session:
            row = await self._record(session, job, decide(job, command), command.owner_id)
            if row is None:  # the reusable index waited for an identical job's commit
                raise IdenticalRequestWon
            # after the claim, so that of identical requests only the winner takes a slot;
            # a refusal rolls the claim back
            await self._take_rate_limit(command.owner_id)
        return row

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
                      owner_id: str, causation_id: str | None = None) -> Any:
        """Append and apply the events; the read-model row the first one created, if any.
        The job's version is known (a new stream, or the row the worker read): a closer that
        lost a race to another fails on the unique (stream, version) key."""
        new = [NewEvent(e.event_type, e.model_dump(mode="json"), e.schema_version)
               for e in events]
        stored = await self.store.append(session, state.job_id, state.version, new,
                                         user_id=owner_id, causation_id=causation_id,
                                         known_version=True)
        rows = [await projections.apply_rating_event(session, e) for e in stored]
        return rows[0]

    async def job(self, owner_id: str, job_id: str) -> Any:
        async with self.reads() as session:
            return await projections.owned_job(session, owner_id, job_id)

    async def latest(self, owner_id: str, resume_id: str) -> Any:
        async with self.reads() as session:
            return await projections.latest_completed(session, owner_id, resume_id)

    # --- the worker's side ---

    async def pending_job(self, job_id: str) -> tuple[RatingJob | None, dict[str, Any] | None]:
        """The job while it waits for its outcome (None once closed, or unknown here), and
        what the model is to be shown (None when that exact input is gone: resume deleted,
        or the version missing)."""
        async with self.reads() as session:
            row = await projections.job_and_document(session, job_id)
        if row is None or row.status != "pending":
            return None, None
        job = job_from_row(job_id, row)
        if row.document is None:
            return job, None
        data = model_input(row.document)
        return job, (data if content_hash(data) == row.content_hash else None)

    async def close(self, job: RatingJob, command: CompleteRating | FailRating,
                    causation_id: str | None = None) -> bool:
        """Record the outcome of `job`, as pending_job read it; False when it was closed
        since (another delivery of the request got there first)."""
        events = decide(job, command)
        if not events:
            return False
        try:
            async with self.sessions.begin() as session:
                # the row leaving `pending` NOTIFYs the waiters (trigger, migration 0002)
                await self._record(session, job, events, job.owner_id, causation_id)
        except VersionConflict:
            return False
        return True
