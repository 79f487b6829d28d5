"""Idempotent consumers: a handler's effects and the record that it processed an event
commit in one transaction, so a redelivered event changes nothing."""

from collections.abc import Awaitable, Callable

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.envelope import EventEnvelope
from runtime.bus import EventHandler

Effect = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]


async def claim(session: AsyncSession, processed: Table, consumer: str,
                envelope: EventEnvelope) -> bool:
    """Record that `consumer` processed the event; False when it already had."""
    statement = (insert(processed).values(consumer=consumer, event_id=envelope.event_id)
                 .on_conflict_do_nothing().returning(processed.c.event_id))
    return (await session.execute(statement)).first() is not None


def idempotent(sessions: async_sessionmaker[AsyncSession], processed: Table, consumer: str,
               effect: Effect) -> EventHandler:
    """Wrap `effect` so it runs at most once per event id, in the claiming transaction."""

    async def handle(envelope: EventEnvelope) -> None:
        async with sessions.begin() as session:
            if await claim(session, processed, consumer, envelope):
                await effect(session, envelope)

    return handle
