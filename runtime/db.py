"""Async SQLAlchemy engine and session factory."""

import orjson
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    # No pre-ping: it costs a round trip per transaction; asyncpg reports a dead connection
    # on use and the pool discards it, and pool_recycle retires idle ones.
    # hide_parameters: a statement's error names its parameters, and those are resumes,
    # tokens and addresses: an error logged must carry none of them.
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_recycle=1800,
                               json_serializer=json_text, json_deserializer=orjson.loads,
                               hide_parameters=True)


def json_text(value: object) -> str:
    """JSON as text, by orjson (what JSONB columns and parameters are given)."""
    return orjson.dumps(value).decode()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The engine with every statement its own transaction: no BEGIN and COMMIT round trips
    (for independent reads, and writes made of one statement)."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for plain reads, in autocommit: no BEGIN and ROLLBACK round trips around
    them (each statement sees what committed before it, so keep them to independent reads)."""
    return async_sessionmaker(autocommit(engine), expire_on_commit=False)


def asyncpg_dsn(url: str) -> str:
    """The plain libpq URL asyncpg wants, from a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
