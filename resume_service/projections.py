"""The `resumes` read model, updated from resume events in the same transaction as the
append (so a write is visible to the next read), and rebuildable from the log.

Every event carries the whole document, so applying an event is "set the row to this
version"; an event at or below the row's version is ignored, which makes replays harmless.
A deleted resume stays as a tombstone row (`deleted_at`), so its version keeps counting.
"""

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import EventEnvelope
from contracts.resume_events import RESUME_EVENTS
from resume_service.tables import SCHEMA, resumes
from runtime.projection import Projection

NAME = "resumes"


async def apply_event(session: AsyncSession, envelope: EventEnvelope) -> None:
    if envelope.event_type == "ResumeDeleted":
        await session.execute(update(resumes).where(
            resumes.c.id == envelope.stream_id, resumes.c.version < envelope.stream_version,
        ).values(version=envelope.stream_version, deleted_at=envelope.occurred_at,
                 updated_at=envelope.occurred_at))
        return
    document: dict[str, Any] = envelope.payload["document"]
    values = {
        "version": envelope.stream_version, "title": document.get("title", ""),
        "template": document.get("template", ""), "document": document,
        "updated_at": envelope.occurred_at,
    }
    statement = insert(resumes).values(
        id=envelope.stream_id, owner_id=envelope.payload["owner_id"],
        created_at=envelope.occurred_at, **values,
    ).on_conflict_do_update(
        index_elements=[resumes.c.id], set_=values,
        where=resumes.c.version < envelope.stream_version,
    )
    await session.execute(statement)


async def reset(session: AsyncSession) -> None:
    await session.execute(delete(resumes))


async def load_row(session: AsyncSession, resume_id: str) -> Any:
    return (await session.execute(select(resumes).where(resumes.c.id == resume_id))).first()


async def owned_row(session: AsyncSession, owner_id: str, resume_id: str) -> Any:
    """The live resume row when `owner_id` owns it, else None."""
    query = select(resumes).where(resumes.c.id == resume_id, resumes.c.owner_id == owner_id,
                                  resumes.c.deleted_at.is_(None))
    return (await session.execute(query)).first()


async def owned_rows(session: AsyncSession, owner_id: str) -> list[Any]:
    query = (select(resumes).where(resumes.c.owner_id == owner_id, resumes.c.deleted_at.is_(None))
             .order_by(resumes.c.updated_at.desc()))
    return list((await session.execute(query)).all())


PROJECTIONS = [
    Projection(NAME, SCHEMA, frozenset(RESUME_EVENTS), reset, apply_event),
]
