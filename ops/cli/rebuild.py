"""Rebuilding a projection from its event store: empty it, then feed it the source schema's
events of its types in log order, batch by batch.

Resumable: each batch commits together with a checkpoint (the last position applied) in the
service's `projection_checkpoints` table, created if missing. A rebuild that stops half-way
leaves `done = false`, and the next run goes on from the checkpoint instead of emptying the
projection again. A session-level advisory lock keeps two rebuilds of one projection apart.
Live writers may keep writing meanwhile: projections ignore events at or below a row's version.
"""

import asyncio
import contextlib
import gc
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from contracts.envelope import EventEnvelope
from ops.cli import store
from ops.cli.common import CliError, check_identifier
from runtime.eventstore import schema_lock_key
from runtime.projection import Projection

DEFAULT_BATCH = 2000


@dataclass
class RebuildReport:
    projection: str
    resumed_from: int | None  # the checkpoint's position when continuing an interrupted run
    total: int = 0
    applied: int = 0
    seconds: float = 0.0
    batch_seconds: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.applied / self.seconds if self.seconds else 0.0


@dataclass
class Rebuilder:
    engine: AsyncEngine
    checkpoint_schema: str
    batch_size: int = DEFAULT_BATCH
    on_start: Callable[[RebuildReport], None] = lambda _report: None
    on_batch: Callable[[int], None] = lambda _applied: None

    @property
    def _table(self) -> str:
        return f"{check_identifier(self.checkpoint_schema)}.projection_checkpoints"

    async def rebuild(self, projection: Projection, restart: bool = False) -> RebuildReport:
        await self._create_checkpoint_table()
        async with self.engine.connect() as lock_conn:
            key = schema_lock_key(self.checkpoint_schema, f"rebuild:{projection.name}")
            if not (await lock_conn.execute(select(func.pg_try_advisory_lock(key)))).scalar():
                raise CliError(f"a rebuild of {projection.name} is already running")
            await lock_conn.commit()
            try:
                return await self._rebuild_locked(projection, restart)
            finally:
                await lock_conn.execute(select(func.pg_advisory_unlock(key)))
                await lock_conn.commit()

    async def _rebuild_locked(self, projection: Projection, restart: bool) -> RebuildReport:
        sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        position = None if restart else await self._unfinished_checkpoint(projection.name)
        report = RebuildReport(projection.name, resumed_from=position)
        if position is None:
            position = 0
            async with sessions.begin() as session:
                await projection.reset(session)
                await self._save(session, projection.name, 0, done=False, fresh=True)
        async with self.engine.connect() as conn:
            report.total = await store.count_from(conn, projection.source_schema, position,
                                                  projection.event_types)
        self.on_start(report)
        started = time.perf_counter()
        with bulk_allocation():
            position = await self._apply_batches(sessions, projection, position, report)
        async with sessions.begin() as session:
            await self._save(session, projection.name, position, done=True)
        report.seconds = time.perf_counter() - started
        return report

    async def _apply_batches(self, sessions: async_sessionmaker[AsyncSession],
                             projection: Projection, position: int,
                             report: RebuildReport) -> int:
        async with _Prefetcher(self.engine, projection, self.batch_size, position) as batches:
            while envelopes := await batches.next():
                batch_started = time.perf_counter()
                async with sessions.begin() as session:
                    # a batch lost in a crash is lost with its checkpoint: redone next run
                    await session.execute(text("SET LOCAL synchronous_commit = off"))
                    await projection.apply_all(session, envelopes)
                    position = envelopes[-1].global_position or position
                    await self._save(session, projection.name, position, done=False)
                report.applied += len(envelopes)
                report.batch_seconds.append(time.perf_counter() - batch_started)
                gc.collect(1)  # the young generations, where this batch's garbage is
                self.on_batch(len(envelopes))
        return position

    async def _create_checkpoint_table(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(
                f"CREATE TABLE IF NOT EXISTS {self._table} ("
                "projection text PRIMARY KEY, position bigint NOT NULL, "
                "done boolean NOT NULL, started_at timestamptz NOT NULL DEFAULT now(), "
                "updated_at timestamptz NOT NULL DEFAULT now())"))

    async def _unfinished_checkpoint(self, name: str) -> int | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(text(
                f"SELECT position, done FROM {self._table} WHERE projection = :name"),
                {"name": name})).first()
        return None if row is None or row.done else int(row.position)

    async def _save(self, session: AsyncSession, name: str, position: int, *, done: bool,
                    fresh: bool = False) -> None:
        started = ", started_at = now()" if fresh else ""
        await session.execute(text(
            f"INSERT INTO {self._table} (projection, position, done) "
            "VALUES (:name, :position, :done) ON CONFLICT (projection) DO UPDATE SET "
            f"position = excluded.position, done = excluded.done, updated_at = now(){started}"),
            {"name": name, "position": position, "done": done})

    async def checkpoint(self, name: str) -> tuple[int, bool] | None:
        """(position, done) of the projection's last rebuild; None if never rebuilt."""
        async with self.engine.connect() as conn:
            if (await conn.execute(text("SELECT to_regclass(:t)"),
                                   {"t": self._table})).scalar() is None:
                return None
            row = (await conn.execute(text(
                f"SELECT position, done FROM {self._table} WHERE projection = :name"),
                {"name": name})).first()
        return None if row is None else (int(row.position), bool(row.done))


@contextlib.contextmanager
def bulk_allocation() -> Iterator[None]:
    """Pause the cyclic garbage collector while batches are read and applied. A batch makes
    many small objects (decoded documents) and no reference cycles, so reference counting
    frees it; left on, the collector walks every live document over and over, which halves
    the read rate. The young generations are collected after each batch."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Prefetcher:
    """Reads the log in ranges of `width` positions, `depth` ranges ahead, each on its own
    connection, so Postgres detoasts and serializes the next batches on other cores while the
    current one is applied. Ranges may be empty (other event types); the end is the head of
    the log, read again when reached so that events appended meanwhile are included."""

    def __init__(self, engine: AsyncEngine, projection: Projection, width: int, after: int,
                 depth: int = 2) -> None:
        self.engine, self.projection, self.width, self.depth = engine, projection, width, depth
        self._next_low = self._head = after
        self._free: list[AsyncConnection] = []
        self._pending: deque[tuple[AsyncConnection, asyncio.Future[list[EventEnvelope]]]] = (
            deque())

    async def __aenter__(self) -> "_Prefetcher":
        self._free = [await self.engine.connect() for _ in range(self.depth)]
        await self._refresh_head()
        self._schedule()
        return self

    async def __aexit__(self, *_: object) -> None:
        for conn, task in self._pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            self._free.append(conn)
        for conn in self._free:
            await conn.close()

    def _schedule(self) -> None:
        while self._free and self._next_low < self._head:
            conn, low = self._free.pop(), self._next_low
            self._next_low += self.width
            self._pending.append((conn, asyncio.ensure_future(self._read(conn, low))))

    async def _read(self, conn: AsyncConnection, low: int) -> list[EventEnvelope]:
        async with conn.begin():
            return await store.read_from(conn, self.projection.source_schema, low,
                                         self.width, self.projection.event_types,
                                         up_to=low + self.width)

    async def next(self) -> list[EventEnvelope]:
        """The next non-empty batch in log order; empty at the head of the log."""
        while True:
            if not self._pending:
                await self._refresh_head()
                self._schedule()
                if not self._pending:
                    return []
            conn, task = self._pending.popleft()
            try:
                batch = await task
            finally:
                self._free.append(conn)
            self._schedule()
            if batch:
                return batch

    async def _refresh_head(self) -> None:
        conn = self._free[0]  # only called with every connection free
        self._head = await store.head_position(conn, self.projection.source_schema)
        await conn.rollback()
