"""`outbox status`: per service, the events waiting to be published, how old the oldest is,
by routing key, and whether an outbox relay currently holds the leader lock."""

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ops.cli.common import database, event_schemas, out, print_json, run
from runtime.eventstore import schema_lock_key

outbox_app = typer.Typer(help="What is waiting to be published.", no_args_is_help=True)


@outbox_app.command("status")
def status(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Events in each service's outbox, not yet confirmed by RabbitMQ."""
    report = run(_status())
    if json_out:
        print_json(report)
        return
    table = Table(title="outbox")
    for column in ("service", "pending", "oldest age (s)", "oldest position", "relay",
                   "by routing key"):
        table.add_column(column)
    for row in report:
        age = row["oldest_age_seconds"]
        table.add_row(row["schema"], str(row["pending"]), "" if age is None else f"{age:.1f}",
                      str(row["oldest_position"] or ""),
                      "active" if row["relay_active"] else "[red]none[/]",
                      ", ".join(f"{k}={n}" for k, n in row["by_routing_key"].items()))
    out().print(table)


async def _status() -> list[dict[str, Any]]:
    async with database() as engine, engine.connect() as conn:
        return [await _schema_status(conn, schema) for schema in await event_schemas(conn)]


async def _schema_status(conn: AsyncConnection, schema: str) -> dict[str, Any]:
    rows = (await conn.execute(text(
        f"SELECT o.routing_key, count(*) AS n, min(o.global_position) AS first, "
        f"min(e.recorded_at) AS oldest FROM {schema}.outbox o "
        f"JOIN {schema}.events e USING (global_position) GROUP BY o.routing_key "
        f"ORDER BY o.routing_key"))).all()
    oldest = min((r.oldest for r in rows), default=None)
    return {
        "schema": schema,
        "pending": sum(r.n for r in rows),
        "oldest_position": min((r.first for r in rows), default=None),
        "oldest_recorded_at": oldest,
        "oldest_age_seconds": (datetime.now(UTC) - oldest).total_seconds() if oldest else None,
        "by_routing_key": {r.routing_key: r.n for r in rows},
        "relay_active": await _relay_active(conn, schema),
    }


async def _relay_active(conn: AsyncConnection, schema: str) -> bool:
    # pg_try_advisory_lock(bigint) shows in pg_locks as classid = high, objid = low 32 bits
    key = schema_lock_key(schema, "relay")
    held = await conn.execute(text(
        "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
        "AND classid::bigint = :high AND objid::bigint = :low AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"),
        {"high": key >> 32, "low": key & 0xFFFFFFFF})
    return held.first() is not None
