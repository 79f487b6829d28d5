"""The `users` read model, updated in the same transaction as the append and rebuildable from
the log. `UserSignedIn` carries the whole profile, so applying it is "set the row to this
version"; an event at or below the row's version is ignored, which makes replays harmless."""

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.exports import job_records
from auth_service.tables import SCHEMA, users
from contracts.auth_events import UserSignedIn
from contracts.envelope import EventEnvelope
from runtime.projection import Projection

NAME = "users"


async def apply_event(session: AsyncSession, envelope: EventEnvelope) -> None:
    if envelope.event_type != UserSignedIn.event_type:
        return  # signing out changes nothing a user row shows
    event = UserSignedIn.model_validate(envelope.payload)
    values = {"email": event.email, "name": event.name, "picture": event.picture,
              "version": envelope.stream_version, "last_sign_in_at": envelope.occurred_at}
    await session.execute(insert(users).values(
        id=event.user_id, issuer=event.issuer, subject=event.subject,
        created_at=envelope.occurred_at, **values,
    ).on_conflict_do_update(index_elements=[users.c.id], set_=values,
                            where=users.c.version < envelope.stream_version))


async def load_user(session: AsyncSession, user_id: str) -> Any:
    return (await session.execute(select(users).where(users.c.id == user_id))).first()


async def reset(session: AsyncSession) -> None:
    await session.execute(delete(users))


PROJECTIONS: list[Projection] = [
    Projection(name=NAME, source_schema=SCHEMA,
               event_types=frozenset({UserSignedIn.event_type}),
               reset=reset, apply=apply_event),
    job_records.projection("auth.jobs", SCHEMA),
]
