"""Read models of ai_service.

- `ai.ratings`: one row per rating job, written in the same transaction as the job's events
  (a request is visible to the next read, and its unique index makes "one pending or
  completed job per owner and model input" race-free). Updates only move a row forward in
  stream version, so replays and duplicates change nothing.
- `ai.resume_versions`: the resume replica (runtime.replica), fed by resume events.
"""

from typing import Any

from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ai_service.tables import REUSABLE, SCHEMA, ratings, resume_replica
from contracts.ai_events import AI_EVENTS
from contracts.envelope import EventEnvelope
from contracts.resume_events import RESUME_EVENTS
from runtime.projection import Projection
from runtime.replica import apply_resume_event

RESUME_SCHEMA = "resume"


async def apply_rating_event(session: AsyncSession, envelope: EventEnvelope) -> Any:
    """Apply one event; for a request, the new row (None when it was there already)."""
    payload = envelope.payload
    if envelope.event_type == "RatingRequested":
        return (await session.execute(insert(ratings).values(
            job_id=envelope.stream_id, stream_version=envelope.stream_version,
            owner_id=payload["owner_id"], resume_id=payload["resume_id"],
            resume_version=payload["resume_version"], content_hash=payload["content_hash"],
            model=payload["model"], prompt_version=payload["prompt_version"],
            status="pending", requested_at=envelope.occurred_at,
        ).on_conflict_do_nothing(index_elements=[ratings.c.job_id]).returning(*ratings.c)
        )).first()
    outcome: dict[str, Any] = (
        {"status": "completed", "rating": payload["rating"]}
        if envelope.event_type == "RatingCompleted"
        else {"status": "failed", "error_code": payload["code"], "error": payload["reason"]})
    await session.execute(update(ratings).where(
        ratings.c.job_id == envelope.stream_id,
        ratings.c.stream_version < envelope.stream_version,
    ).values(stream_version=envelope.stream_version, model_calls=payload["model_calls"],
             finished_at=envelope.occurred_at, **outcome))
    return None


async def reset_ratings(session: AsyncSession) -> None:
    await session.execute(delete(ratings))


async def reset_replica(session: AsyncSession) -> None:
    await session.execute(delete(resume_replica))


async def apply_replica_event(session: AsyncSession, envelope: EventEnvelope) -> None:
    await apply_resume_event(session, resume_replica, envelope)


async def reusable_job(session: AsyncSession, owner_id: str, content_hash: str, model: str,
                       prompt_version: str) -> Any:
    """The pending or completed job for exactly this model input, if any."""
    query = select(ratings).where(
        ratings.c.owner_id == owner_id, ratings.c.content_hash == content_hash,
        ratings.c.model == model, ratings.c.prompt_version == prompt_version,
        ratings.c.status.in_(REUSABLE))
    return (await session.execute(query)).first()


async def owned_job(session: AsyncSession, owner_id: str, job_id: str) -> Any:
    query = select(ratings).where(ratings.c.job_id == job_id, ratings.c.owner_id == owner_id)
    return (await session.execute(query)).first()


async def job_for_update(session: AsyncSession, job_id: str) -> Any:
    query = select(ratings).where(ratings.c.job_id == job_id).with_for_update()
    return (await session.execute(query)).first()


async def latest_completed(session: AsyncSession, owner_id: str, resume_id: str) -> Any:
    query = (select(ratings).where(ratings.c.resume_id == resume_id,
                                   ratings.c.owner_id == owner_id,
                                   ratings.c.status == "completed")
             .order_by(ratings.c.finished_at.desc()).limit(1))
    return (await session.execute(query)).first()


async def job_and_document(session: AsyncSession, job_id: str) -> Any:
    """What the worker needs in one query: the job's status and input, and the document of
    the resume version it names while that resume is live and still the job owner's (else
    `document` is None)."""
    replica, deleted = resume_replica, resume_replica.alias("deleted")
    live = ~exists().where(deleted.c.resume_id == ratings.c.resume_id, deleted.c.deleted)
    query = select(
        ratings.c.status, ratings.c.content_hash, replica.c.document,
    ).select_from(ratings.outerjoin(replica, and_(
        replica.c.resume_id == ratings.c.resume_id,
        replica.c.version == ratings.c.resume_version,
        replica.c.owner_id == ratings.c.owner_id, live,
    ))).where(ratings.c.job_id == job_id)
    return (await session.execute(query)).first()


PROJECTIONS = [
    Projection("ai.ratings", SCHEMA, frozenset(AI_EVENTS), reset_ratings, apply_rating_event),
    Projection("ai.resume_versions", RESUME_SCHEMA, frozenset(RESUME_EVENTS), reset_replica,
               apply_replica_event),
]
