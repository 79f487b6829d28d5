"""`replay`: re-deliver stored events to ONE consumer's queue, marked `replay: true`.

Each envelope goes to RabbitMQ's default exchange with the consumer's queue name as routing
key, so it reaches that queue and nothing else (the events exchange, where every other
consumer is bound, is never involved). A replay of events a consumer already processed
changes nothing: consumers dedupe on event_id (processed_events), the resume replicas on
their (resume, version) key. The source schema of a consumer's events cannot be
read from its name in general; it is inferred from the queue's purpose (`<service>.resumes`
reads the resume store, ...) or given with --source.
"""

from collections.abc import AsyncIterator
from typing import Annotated

import typer
from aio_pika.abc import AbstractChannel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.ai_events import RatingRequested
from contracts.auth_events import UserSignedOut
from contracts.compile_events import CompileRequested
from contracts.envelope import EventEnvelope
from contracts.erasure_events import TOMBSTONE_EVENT_TYPE
from contracts.topology import AI_PRODUCER, AUTH_PRODUCER, COMPILE_PRODUCER, RESUME_PRODUCER
from ops.cli import store
from ops.cli.amqp import broker, existing_queue, publisher, send_to_queue
from ops.cli.common import CliError, check_identifier, database, event_schemas, out, run
from runtime.outbox import envelope_bytes

# queue purpose (the part after the service name) -> (source schema, event types; None = all)
PURPOSES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "resumes": (RESUME_PRODUCER, None),
    "sessions": (AUTH_PRODUCER, (UserSignedOut.event_type,)),
    "jobs": (COMPILE_PRODUCER, (CompileRequested.event_type,)),
    "ratings": (AI_PRODUCER, (RatingRequested.event_type,)),
}
BATCH = 500


def plan_for(consumer: str, source: str | None,
             types: list[str] | None) -> tuple[str, tuple[str, ...] | None]:
    """The schema to read and the event types to send, from the options or the queue name."""
    inferred = PURPOSES.get(consumer.rsplit(".", 1)[-1])
    if source is None:
        if inferred is None:
            raise CliError(f"cannot tell which event store feeds {consumer!r}: pass --source "
                           f"({', '.join(sorted({s for s, _ in PURPOSES.values()}))})")
        source = inferred[0]
    if types:
        return check_identifier(source), tuple(types)
    same_source = inferred is not None and inferred[0] == source
    return check_identifier(source), inferred[1] if same_source and inferred else None


def replay(
    to: Annotated[str, typer.Option("--to", help="The consumer, i.e. its queue name.")],
    from_position: Annotated[int, typer.Option(min=1, help="First global position to send.")],
    event_type: Annotated[list[str] | None, typer.Option(
        "--type", help="Only these event types (repeatable).")] = None,
    stream: Annotated[str | None, typer.Option(help="Only this stream.")] = None,
    source: Annotated[str | None, typer.Option(
        help="Event store (schema) to read: resume, auth, compile, ai.")] = None,
    to_position: Annotated[int | None, typer.Option(help="Last global position to send.")] = None,
    dry_run: Annotated[bool, typer.Option(help="List what would be sent.")] = False,
) -> None:
    """Re-deliver stored events to one consumer's queue only, marked as a replay."""
    run(_replay(to, from_position, event_type, stream, source, to_position, dry_run))


async def _replay(consumer: str, from_position: int, types: list[str] | None,
                  stream: str | None, source: str | None, to_position: int | None,
                  dry_run: bool) -> None:
    schema, chosen_types = plan_for(consumer, source, types)
    console = out()
    async with database() as engine, engine.connect() as conn:
        await event_schemas(conn, schema)
        total = await store.count_from(conn, schema, from_position - 1, chosen_types, stream,
                                       without_tombstones=True)
        if to_position is not None:
            total -= await store.count_from(conn, schema, to_position, chosen_types, stream,
                                            without_tombstones=True)
        console.print(f"replaying {total:,} {schema} events "
                      f"({', '.join(chosen_types) if chosen_types else 'all types'}"
                      f"{f', stream {stream}' if stream else ''}) from position "
                      f"{from_position} to queue {consumer}")
        if dry_run:
            async for envelope in _selected(conn, schema, from_position, to_position,
                                            chosen_types, stream):
                console.print(f"  #{envelope.global_position} {envelope.event_type} "
                              f"{envelope.stream_id}@{envelope.stream_version}")
            return
        async with broker() as connection:
            await existing_queue(connection, consumer)
            channel = await publisher(connection)
            sent = 0
            with Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as progress:
                task = progress.add_task("replay", total=total)
                async for envelope in _selected(conn, schema, from_position, to_position,
                                                chosen_types, stream):
                    await _send(channel, consumer, envelope)
                    sent += 1
                    progress.advance(task)
    console.print(f"[green]sent[/] {sent:,} events to {consumer} (replay: true)")


async def _selected(conn: AsyncConnection, schema: str, from_position: int,
                    to_position: int | None, types: tuple[str, ...] | None,
                    stream: str | None) -> AsyncIterator[EventEnvelope]:
    after = from_position - 1
    while True:
        batch = await store.read_from(conn, schema, after, BATCH, types, stream)
        for envelope in batch:
            if to_position is not None and (envelope.global_position or 0) > to_position:
                return
            if envelope.event_type != TOMBSTONE_EVENT_TYPE:  # an erased user's: nothing to send
                yield envelope
        if len(batch) < BATCH:
            return
        after = batch[-1].global_position or after


async def _send(channel: AbstractChannel, consumer: str, envelope: EventEnvelope) -> None:
    replayed = envelope.model_copy(update={"replay": True})
    await send_to_queue(
        channel, consumer, envelope_bytes(replayed),
        headers={"event_type": envelope.event_type, "x-replay": True},
        message_id=str(envelope.event_id), correlation_id=envelope.correlation_id,
        content_type="application/json")
