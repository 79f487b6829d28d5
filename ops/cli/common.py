"""Plumbing every CLI command shares: settings, a database engine, the event schemas that
exist, consoles, and running a coroutine so that failures end as one clear line instead of
a traceback."""

import asyncio
import re
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from functools import cache
from typing import Any, TypeVar

import orjson
import typer
from rich.console import Console
from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from contracts.topology import AI_PRODUCER, AUTH_PRODUCER, COMPILE_PRODUCER, RESUME_PRODUCER
from runtime.eventstore import EventTables, define_event_tables
from runtime.settings import ServiceSettings

T = TypeVar("T")

# One schema per producer, named after it (see contracts.topology), in this display order.
KNOWN_SCHEMAS = (AUTH_PRODUCER, RESUME_PRODUCER, COMPILE_PRODUCER, AI_PRODUCER)
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class CliError(Exception):
    """A failure the operator can act on; printed as one line, exit status 1."""


def settings() -> ServiceSettings:
    return ServiceSettings()


def out() -> Console:
    """A console for results; built per call so it follows the current terminal and env."""
    return Console(highlight=False, soft_wrap=True)


def err() -> Console:
    return Console(stderr=True, highlight=False)


def print_json(value: Any) -> None:
    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
                            default=str).decode())


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; operator-facing failures exit 1 with a readable message."""
    try:
        return asyncio.run(coroutine)
    except CliError as exc:
        err().print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except (OSError, DBAPIError) as exc:
        err().print(f"[red]error:[/] cannot reach PostgreSQL at "
                    f"{safe_url(settings().database_url)}: {exc}")
        raise typer.Exit(1) from None


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def check_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise CliError(f"not a schema name: {name!r}")
    return name


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()


@asynccontextmanager
async def database(url: str | None = None) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(url or settings().database_url, pool_size=2, max_overflow=4,
                                 json_serializer=_json_text, json_deserializer=orjson.loads,
                                 hide_parameters=True)  # as runtime.db: errors carry no data
    try:
        yield engine
    finally:
        await engine.dispose()


@cache
def event_tables(schema: str) -> EventTables:
    """The event-store tables of one schema (they have the same shape in every service)."""
    return define_event_tables(MetaData(schema=check_identifier(schema)))


async def event_schemas(conn: AsyncConnection, only: str | None = None) -> list[str]:
    """The producers' schemas that hold an event store in this database."""
    wanted = [check_identifier(only)] if only else list(KNOWN_SCHEMAS)
    rows = await conn.execute(text(
        "SELECT table_schema FROM information_schema.tables "
        "WHERE table_name = 'events' AND table_schema = ANY(:schemas)"), {"schemas": wanted})
    found = {r.table_schema for r in rows}
    schemas = [s for s in wanted if s in found]
    if not schemas:
        raise CliError(f"no event store in schema(s) {', '.join(wanted)} "
                       "(run the migrations: python -m ops.migrate)")
    return schemas

