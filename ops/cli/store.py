"""Read-only queries over the event stores of every schema, for the CLI."""

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.envelope import EventEnvelope
from contracts.erasure_events import TOMBSTONE_EVENT_TYPE
from ops.cli.common import CliError, event_schemas, event_tables
from runtime.eventstore import row_to_envelope


@dataclass(frozen=True)
class Located:
    schema: str
    envelope: EventEnvelope


async def read_stream(conn: AsyncConnection, schema: str, stream_id: str,
                      up_to: int | None = None) -> list[EventEnvelope]:
    ev = event_tables(schema).events
    query = select(ev).where(ev.c.stream_id == stream_id).order_by(ev.c.stream_version)
    if up_to is not None:
        query = query.where(ev.c.stream_version <= up_to)
    return [row_to_envelope(r) for r in await conn.execute(query)]


async def locate_stream(conn: AsyncConnection, stream_id: str,
                        source: str | None) -> str:
    """The schema holding the stream; with several, the operator must pick one."""
    found = []
    for schema in await event_schemas(conn, source):
        ev = event_tables(schema).events
        query = select(ev.c.global_position).where(ev.c.stream_id == stream_id).limit(1)
        if (await conn.execute(query)).first() is not None:
            found.append(schema)
    if not found:
        raise CliError(f"no stream {stream_id!r} in any event store")
    if len(found) > 1:
        raise CliError(f"stream {stream_id!r} exists in {', '.join(found)}: pass --source")
    return found[0]


async def head_position(conn: AsyncConnection, schema: str) -> int:
    ev = event_tables(schema).events
    return int((await conn.execute(
        select(func.coalesce(func.max(ev.c.global_position), 0)))).scalar_one())


async def read_from(conn: AsyncConnection, schema: str, after: int, limit: int,
                    types: Collection[str] | None = None, stream_id: str | None = None,
                    up_to: int | None = None) -> list[EventEnvelope]:
    """Events above position `after` (up to `up_to`) in log order, optionally of some types
    or one stream."""
    ev = event_tables(schema).events
    query = (select(ev).where(ev.c.global_position > after)
             .order_by(ev.c.global_position).limit(limit))
    if up_to is not None:
        query = query.where(ev.c.global_position <= up_to)
    if types:
        query = query.where(ev.c.event_type.in_(list(types)))
    if stream_id:
        query = query.where(ev.c.stream_id == stream_id)
    return [row_to_envelope(r) for r in await conn.execute(query)]


async def count_from(conn: AsyncConnection, schema: str, after: int,
                     types: Collection[str] | None = None, stream_id: str | None = None,
                     without_tombstones: bool = False) -> int:
    ev = event_tables(schema).events
    query = select(func.count()).select_from(ev).where(ev.c.global_position > after)
    if without_tombstones:  # an erased user's events (docs/architecture.md, Privacy)
        query = query.where(ev.c.event_type != TOMBSTONE_EVENT_TYPE)
    if types:
        query = query.where(ev.c.event_type.in_(list(types)))
    if stream_id:
        query = query.where(ev.c.stream_id == stream_id)
    return int((await conn.execute(query)).scalar_one())


async def by_correlation(conn: AsyncConnection, correlation_id: str) -> list[Located]:
    """Every stored event caused by one request, across services, in time order."""
    found: list[Located] = []
    schemas = await event_schemas(conn)
    for schema in schemas:
        ev = event_tables(schema).events
        # the literal expression matches the ix_events_correlation index
        query = (select(ev).where(text("metadata->>'correlation_id' = :cid"))
                 .order_by(ev.c.global_position))
        rows = await conn.execute(query, {"cid": correlation_id})
        found += [Located(schema, row_to_envelope(r)) for r in rows]
    found.sort(key=lambda f: (f.envelope.occurred_at, schemas.index(f.schema),
                              f.envelope.global_position or 0))
    return found
