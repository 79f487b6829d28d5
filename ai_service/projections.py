"""Read models of ai_service.

- `ai.ratings`: one row per rating job, written in the same transaction as the job's events
  (a request is visible to the next read, and its unique index makes "one pending or
  completed job per owner and model input" race-free). Updates only move a row forward in
  stream version, so replays and duplicates change nothing.
- `ai.resume_versions`: the resume replica (runtime.replica), fed by resume events.
"""

from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, literal_column, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from ai_service.tables import REUSABLE, SCHEMA, ratings, resume_replica
from contracts.ai_events import AI_EVENTS
from contracts.envelope import EventEnvelope
from contracts.resume_events import RESUME_EVENTS
from runtime.projection import Projection
from runtime.replica import apply_resume_event

RESUME_SCHEMA = "resume"


# Hot statements are built once, with bound parameters: building a statement costs more
# than running it on a warm connection.
_INSERT_REQUESTED = insert(ratings).values(
    job_id=bindparam("p_job_id"), stream_version=bindparam("p_stream_version"),
    owner_id=bindparam("p_owner_id"), resume_id=bindparam("p_resume_id"),
    resume_version=bindparam("p_resume_version"), content_hash=bindparam("p_content_hash"),
    model=bindparam("p_model"), prompt_version=bindparam("p_prompt_version"), status="pending",
    requested_at=bindparam("p_requested_at"),
).on_conflict_do_nothing().returning(*ratings.c)  # job_id, or the reusable key (service.py)
_CLOSE = update(ratings).where(
    ratings.c.job_id == bindparam("p_job_id"),
    ratings.c.stream_version < bindparam("p_stream_version"),
).values(stream_version=bindparam("p_stream_version"), model_calls=bindparam("p_model_calls"),
         finished_at=bindparam("p_finished_at"), status=bindparam("p_status"),
         rating=bindparam("p_rating", type_=JSONB(none_as_null=True)),
         error_code=bindparam("p_error_code"), error=bindparam("p_error"))


async def apply_rating_event(session: AsyncSession, envelope: EventEnvelope) -> Any:
    """Apply one event; for a request, the new row (None when it was there already, or
    when an identical job holds the reusable key)."""
    payload = envelope.payload
    if envelope.event_type == "RatingRequested":
        return (await session.execute(_INSERT_REQUESTED, {
            "p_job_id": envelope.stream_id, "p_stream_version": envelope.stream_version,
            "p_owner_id": payload["owner_id"], "p_resume_id": payload["resume_id"],
            "p_resume_version": payload["resume_version"],
            "p_content_hash": payload["content_hash"], "p_model": payload["model"],
            "p_prompt_version": payload["prompt_version"],
            "p_requested_at": envelope.occurred_at,
        })).first()
    completed = envelope.event_type == "RatingCompleted"
    await session.execute(_CLOSE, {
        "p_job_id": envelope.stream_id, "p_stream_version": envelope.stream_version,
        "p_model_calls": payload["model_calls"], "p_finished_at": envelope.occurred_at,
        "p_status": "completed" if completed else "failed",
        "p_rating": payload["rating"] if completed else None,
        "p_error_code": None if completed else payload["code"],
        "p_error": None if completed else payload["reason"]})
    return None


async def reset_ratings(session: AsyncSession) -> None:
    await session.execute(delete(ratings))


async def reset_replica(session: AsyncSession) -> None:
    await session.execute(delete(resume_replica))


async def apply_replica_event(session: AsyncSession, envelope: EventEnvelope) -> None:
    await apply_resume_event(session, resume_replica, envelope)


_REUSABLE = select(ratings).where(
    ratings.c.owner_id == bindparam("owner_id"),
    ratings.c.content_hash == bindparam("content_hash"), ratings.c.model == bindparam("model"),
    ratings.c.prompt_version == bindparam("prompt_version"),
    ratings.c.status.in_(literal_column(f"'{status}'") for status in REUSABLE))
_OWNED_JOB = select(ratings).where(ratings.c.job_id == bindparam("job_id"),
                                   ratings.c.owner_id == bindparam("owner_id"))


async def reusable_job(session: AsyncSession, owner_id: str, content_hash: str, model: str,
                       prompt_version: str) -> Any:
    """The pending or completed job for exactly this model input, if any."""
    return (await session.execute(_REUSABLE, {
        "owner_id": owner_id, "content_hash": content_hash, "model": model,
        "prompt_version": prompt_version})).first()


async def owned_job(session: AsyncSession, owner_id: str, job_id: str) -> Any:
    return (await session.execute(_OWNED_JOB, {"job_id": job_id, "owner_id": owner_id})).first()


async def latest_completed(session: AsyncSession, owner_id: str, resume_id: str) -> Any:
    query = (select(ratings).where(ratings.c.resume_id == resume_id,
                                   ratings.c.owner_id == owner_id,
                                   ratings.c.status == "completed")
             .order_by(ratings.c.finished_at.desc()).limit(1))
    return (await session.execute(query)).first()


def _job_and_document() -> Any:
    replica, deleted = resume_replica, resume_replica.alias("deleted")
    live = ~exists().where(deleted.c.resume_id == ratings.c.resume_id, deleted.c.deleted)
    return select(*ratings.c, replica.c.document).select_from(ratings.outerjoin(replica, and_(
        replica.c.resume_id == ratings.c.resume_id,
        replica.c.version == ratings.c.resume_version,
        replica.c.owner_id == ratings.c.owner_id, live,
    ))).where(ratings.c.job_id == bindparam("job_id"))


_JOB_AND_DOCUMENT = _job_and_document()


async def job_and_document(session: AsyncSession, job_id: str) -> Any:
    """What the worker needs in one query: the job's row, and the document of the resume
    version it names while that resume is live and still the job owner's (else `document`
    is None)."""
    return (await session.execute(_JOB_AND_DOCUMENT, {"job_id": job_id})).first()


PROJECTIONS = [
    Projection("ai.ratings", SCHEMA, frozenset(AI_EVENTS), reset_ratings, apply_rating_event),
    Projection("ai.resume_versions", RESUME_SCHEMA, frozenset(RESUME_EVENTS), reset_replica,
               apply_replica_event),
]
