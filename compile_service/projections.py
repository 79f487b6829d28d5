"""Read models of compile_service, both rebuildable from event stores:

- `compile.jobs`: one row per job, written in the same transaction as the job's events (so
  a status read right after a write sees it). Each event applies only when it is newer than
  the row (`stream_version`), so a replay or rebuild is harmless.
- `compile.resume_versions`: the resume replica (runtime.replica), fed from resume events.
"""

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from compile_service.tables import SCHEMA, jobs, resume_replica
from contracts.compile_events import COMPILE_EVENTS
from contracts.envelope import EventEnvelope
from contracts.resume_events import RESUME_EVENTS
from runtime.projection import Projection
from runtime.replica import apply_resume_event


async def apply_job_event(session: AsyncSession, envelope: EventEnvelope) -> None:
    p, at = envelope.payload, envelope.occurred_at
    if envelope.event_type == "CompileRequested":
        await session.execute(insert(jobs).values(
            job_id=envelope.stream_id, stream_version=envelope.stream_version,
            owner_id=p["owner_id"], resume_id=p["resume_id"], resume_version=p["resume_version"],
            template=p["template"], engine=p["engine"], title=p.get("title", ""),
            status="queued", requested_at=at,
        ).on_conflict_do_nothing())
        return
    if envelope.event_type == "CompileStarted":
        values: dict[str, Any] = {"status": "running", "attempts": p["attempt"],
                                  "started_at": at}
    else:
        values = {"status": p["outcome"], "artifact_key": p.get("artifact_key"),
                  "cached": p.get("cached", False), "engine_ms": p.get("engine_ms"),
                  "error": p.get("error"), "finished_at": at}
    await session.execute(update(jobs).where(
        jobs.c.job_id == envelope.stream_id, jobs.c.stream_version < envelope.stream_version,
    ).values(stream_version=envelope.stream_version, **values))


async def reset_jobs(session: AsyncSession) -> None:
    await session.execute(delete(jobs))


async def reset_replica(session: AsyncSession) -> None:
    await session.execute(delete(resume_replica))


async def apply_replica_event(session: AsyncSession, envelope: EventEnvelope) -> None:
    await apply_resume_event(session, resume_replica, envelope)


async def owned_job(session: AsyncSession, owner_id: str, job_id: str) -> Any:
    query = select(jobs).where(jobs.c.job_id == job_id, jobs.c.owner_id == owner_id)
    return (await session.execute(query)).first()


async def active_job(session: AsyncSession, resume_id: str, resume_version: int,
                     template: str) -> Any:
    """The queued or running job for exactly this source, if any."""
    query = select(jobs).where(
        jobs.c.resume_id == resume_id, jobs.c.resume_version == resume_version,
        jobs.c.template == template, jobs.c.status.in_(("queued", "running")))
    return (await session.execute(query)).first()


RESUME_SCHEMA = "resume"  # where resume_service stores the events the replica is built from

PROJECTIONS = [
    Projection("compile.jobs", SCHEMA, frozenset(COMPILE_EVENTS), reset_jobs, apply_job_event),
    Projection("compile.resume_versions", RESUME_SCHEMA, frozenset(RESUME_EVENTS),
               reset_replica, apply_replica_event),
]
