"""Reading the event stores: `events tail`, `events show`, `state` and `trace`."""

import asyncio
import time
from typing import Annotated

import typer
from rich.table import Table

from contracts.envelope import EventEnvelope
from contracts.erasure_events import TOMBSTONE_EVENT_TYPE
from ops.cli import store
from ops.cli.common import CliError, database, event_schemas, out, print_json, run
from ops.cli.views import view_for

events_app = typer.Typer(help="Follow or print the event stores.", no_args_is_help=True)

Source = Annotated[str | None, typer.Option(
    help="Schema (producer) holding the stream: resume, auth, compile, ai. Found if omitted.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _short_time(envelope: EventEnvelope) -> str:
    return envelope.occurred_at.astimezone().strftime("%H:%M:%S.%f")[:-3]


def _tail_line(schema: str, e: EventEnvelope) -> str:
    return (f"{_short_time(e)} [cyan]{schema:<8}[/] #{e.global_position:<7} "
            f"[bold]{e.event_type}[/] {e.stream_id}@{e.stream_version} "
            f"[dim]user={e.user_id} request={e.correlation_id}[/]")


@events_app.command("tail")
def tail(
    history: Annotated[int, typer.Option(help="Also print the last N events of each store.")] = 0,
    max_events: Annotated[int | None, typer.Option(help="Stop after this many events.")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    poll: Annotated[float, typer.Option(help="Seconds between polls.")] = 0.5,
    json_out: AsJson = False,
) -> None:
    """Follow the event log of every service as it happens (Ctrl-C to stop)."""
    run(_tail(history, max_events, duration, poll, json_out))


async def _tail(history: int, max_events: int | None, duration: float | None, poll: float,
                json_out: bool) -> None:
    deadline = time.monotonic() + duration if duration is not None else None
    console, printed = out(), 0
    async with database() as engine, engine.connect() as conn:
        schemas = await event_schemas(conn)
        after = {s: max(0, await store.head_position(conn, s) - history) for s in schemas}
        if not json_out:
            console.print(f"[dim]following {', '.join(schemas)}[/]")
        while deadline is None or time.monotonic() < deadline:
            fresh = 0
            for schema in schemas:
                for envelope in await store.read_from(conn, schema, after[schema], 500):
                    after[schema] = envelope.global_position or after[schema]
                    if json_out:
                        print_json({"schema": schema, **envelope.model_dump(mode="json")})
                    else:
                        console.print(_tail_line(schema, envelope))
                    fresh += 1
                    printed += 1
                    if max_events is not None and printed >= max_events:
                        return
            await conn.rollback()  # no snapshot or idle transaction held between polls
            if not fresh:
                await asyncio.sleep(poll)


@events_app.command("show")
def show(stream: str, source: Source = None, json_out: AsJson = False) -> None:
    """Print a stream's history with what each event changed."""
    run(_show(stream, source, json_out))


async def _show(stream_id: str, source: str | None, json_out: bool) -> None:
    async with database() as engine, engine.connect() as conn:
        schema = await store.locate_stream(conn, stream_id, source)
        envelopes = await store.read_stream(conn, schema, stream_id)
    changes = view_for(schema).describe(envelopes)
    if json_out:
        print_json([{"version": e.stream_version, "position": e.global_position,
                     "event_type": e.event_type, "recorded_at": e.occurred_at,
                     "change": change, "user_id": e.user_id, "correlation_id": e.correlation_id,
                     "event_id": e.event_id, "payload": e.payload}
                    for e, change in zip(envelopes, changes, strict=True)])
        return
    table = Table(title=f"{schema} stream {stream_id}")
    for column in ("v", "position", "recorded at", "event", "what changed", "request id"):
        table.add_column(column)
    for e, change in zip(envelopes, changes, strict=True):
        table.add_row(str(e.stream_version), str(e.global_position),
                      e.occurred_at.isoformat(timespec="seconds"), e.event_type, change,
                      e.correlation_id or "")
    out().print(table)


def state(
    stream: str,
    at: Annotated[int | None, typer.Option(help="Version to show (default: the latest).")] = None,
    source: Source = None,
) -> None:
    """Print a stream's state (a resume, a job, ...) as it was at version N, as JSON."""
    run(_state(stream, at, source))


async def _state(stream_id: str, at: int | None, source: str | None) -> None:
    if at is not None and at < 1:
        raise CliError("--at counts from 1")
    async with database() as engine, engine.connect() as conn:
        schema = await store.locate_stream(conn, stream_id, source)
        envelopes = await store.read_stream(conn, schema, stream_id, up_to=at)
    if at is not None and len(envelopes) < at:
        raise CliError(f"stream {stream_id} has only {len(envelopes)} events")
    if any(e.event_type == TOMBSTONE_EVENT_TYPE for e in envelopes):
        # an erased user's stream: its events are tombstones (docs/architecture.md, Privacy)
        print_json({"stream_id": stream_id, "version": envelopes[-1].stream_version,
                    "erased": True, "state": "erased"})
        return
    print_json(view_for(schema).fold(stream_id, envelopes))


def trace(request_id: str, json_out: AsJson = False) -> None:
    """Every stored event caused by one request id (correlation id), across services."""
    run(_trace(request_id, json_out))


async def _trace(request_id: str, json_out: bool) -> None:
    async with database() as engine, engine.connect() as conn:
        found = await store.by_correlation(conn, request_id)
    if not found:
        raise CliError(f"no stored event has correlation id {request_id!r}")
    if json_out:
        print_json([{"schema": f.schema, **f.envelope.model_dump(mode="json")} for f in found])
        return
    table = Table(title=f"request {request_id}: {len(found)} events")
    for column in ("recorded at", "service", "event", "stream@version", "user", "caused by"):
        table.add_column(column)
    for f in found:
        e = f.envelope
        table.add_row(e.occurred_at.isoformat(timespec="milliseconds"), f.schema, e.event_type,
                      f"{e.stream_id}@{e.stream_version}", e.user_id or "",
                      e.causation_id or "")
    out().print(table)
