"""Alembic plumbing: each service keeps its own migration history in its own schema.

A service's `migrations/env.py` calls `run_env(SCHEMA)`; its revisions call
`create_event_store(op, SCHEMA)` for the standard tables. `upgrade()` runs the migrations of
one directory (a service's registration names it: runtime.registry); `python -m ops.migrate`
runs every service's.
"""

import asyncio
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from alembic.operations import Operations
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from runtime.db import asyncpg_dsn
from runtime.settings import ServiceSettings


def alembic_config(migrations: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def upgrade(migrations: Path, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(migrations, database_url), revision)


def downgrade(migrations: Path, database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(migrations, database_url), revision)


async def ensure_database(url: str) -> None:
    """Create the database named in `url` when it does not exist yet."""
    dsn = asyncpg_dsn(url)
    base, name = dsn.rsplit("/", 1)
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def run_env(schema: str) -> None:
    """Body of every service's env.py: online migrations over asyncpg in `schema`."""
    url = context.config.get_main_option("sqlalchemy.url") or ServiceSettings().database_url

    def run(connection: Connection) -> None:
        connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(connection=connection, version_table_schema=schema,
                          include_schemas=True)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    asyncio.run(main())


def create_event_store(op: Operations, schema: str) -> None:
    """The event log, outbox and processed-event tables, as of their first version."""
    op.create_table(
        "events",
        sa.Column("global_position", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("stream_id", sa.Text, nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("metadata", JSONB, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.UniqueConstraint("stream_id", "stream_version"),
        schema=schema,
    )
    op.create_index("ix_events_correlation", "events", [sa.text("(metadata->>'correlation_id')")],
                    schema=schema)
    op.create_table(
        "outbox",
        sa.Column("global_position", sa.BigInteger,
                  sa.ForeignKey(f"{schema}.events.global_position", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("routing_key", sa.Text, nullable=False),
        schema=schema,
    )
    create_outbox_notify_trigger(op, schema)
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        schema=schema,
    )


def create_outbox_notify_trigger(op: Operations, schema: str) -> None:
    """NOTIFY `<schema>_outbox` once per statement that fills the outbox, so the relay
    wakes at commit without the append paying a round trip for it. Idempotent."""
    op.execute(f'CREATE OR REPLACE FUNCTION "{schema}".notify_outbox() RETURNS trigger '
               f"LANGUAGE plpgsql AS $$ BEGIN NOTIFY {schema}_outbox; RETURN NULL; END $$")
    op.execute(f'DROP TRIGGER IF EXISTS outbox_notify ON "{schema}".outbox')
    op.execute(f'CREATE TRIGGER outbox_notify AFTER INSERT ON "{schema}".outbox '
               f'FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".notify_outbox()')
