"""A user's data export (issue #19): an auth_service job of the common lifecycle
(runtime.jobs) whose result is a zip archive, and the store that keeps the archive.

- The job: `EXPORT_JOB`, rows in `auth.jobs`, events in auth's log (contracts.
  privacy_events). Its reuse key is the owner: while one export of a user is queued or
  running, asking again answers that one. A succeeded export asked for again within
  `EXPORT_REUSE_SECONDS` is answered as it is (so a forged `GET /user/me/export`, which
  needs no Origin check, costs at most one export per user per window).
- The work is done by `python -m ops.export_worker`, which reads each service's part of the
  user's data through that service's own `privacy.py` (ops is the one layer that may
  import every service); auth_service itself serves the routes.
- The archive: `auth.account_exports` (one row per succeeded export: owner, size, digest,
  expiry) and `auth.account_export_chunks` (its bytes, `EXPORT_CHUNK_BYTES` per row, in
  order), in PostgreSQL so every instance reaches it. It is deleted at `expires_at` by the
  worker's sweep; erasure deletes a user's with `ArchiveStore.delete_owner` (the chunks go
  with their row: ON DELETE CASCADE). Its content is never logged.
"""

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from auth_service.settings import ExportSettings
from auth_service.tables import SCHEMA, event_tables, metadata
from contracts.privacy_events import ExportFinished, ExportRequested, ExportStarted
from contracts.topology import AUTH_PRODUCER
from runtime.db import asyncpg_dsn, make_read_sessionmaker, make_sessionmaker
from runtime.eventstore import EventStore
from runtime.jobs import JobKind, JobRecords, Jobs, define_job_table, job_finished_channel
from runtime.metrics import service_metrics
from runtime.waiting import JobWaiter

EXPORT_JOB = JobKind(
    name="export", requested=ExportRequested, started=ExportStarted, finished=ExportFinished,
    reuse_key=lambda requested: requested.owner_id, reuse_succeeded=False,
    not_found_code="export_not_found", noun="export",
)

jobs = define_job_table(metadata)
job_records = JobRecords(jobs, EXPORT_JOB)

account_exports = Table(
    "account_exports", metadata,
    Column("job_id", Text, primary_key=True),
    Column("owner_id", Text, nullable=False, index=True),
    Column("size_bytes", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

account_export_chunks = Table(
    "account_export_chunks", metadata,
    Column("job_id", Text, ForeignKey(account_exports.c.job_id, ondelete="CASCADE"),
           primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)


class ExportNotReady(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class ExportExpired(Exception):
    """The export succeeded, but its archive was deleted (or is past its expiry)."""


@dataclass(frozen=True)
class StoredArchive:
    job_id: str
    size_bytes: int
    chunks: int
    sha256: str
    expires_at: datetime


class ArchiveStore:
    """Archives as rows of chunks. A save replaces what a job saved before (a retried job),
    in one transaction; a read goes chunk by chunk, so a download never holds a whole
    archive in memory."""

    def __init__(self, engine: AsyncEngine, chunk_bytes: int) -> None:
        self.engine, self.chunk_bytes = engine, chunk_bytes

    async def save(self, job_id: str, owner_id: str, source: IO[bytes],
                   expires_at: datetime) -> StoredArchive:
        digest, size, seq = hashlib.sha256(), 0, 0
        async with self.engine.begin() as connection:
            await connection.execute(delete(account_exports)
                                     .where(account_exports.c.job_id == job_id))
            await connection.execute(insert(account_exports).values(
                job_id=job_id, owner_id=owner_id, size_bytes=0, chunks=0, sha256="",
                created_at=datetime.now(UTC), expires_at=expires_at))
            while chunk := source.read(self.chunk_bytes):
                digest.update(chunk)
                size += len(chunk)
                await connection.execute(insert(account_export_chunks).values(
                    job_id=job_id, seq=seq, data=chunk))
                seq += 1
            await connection.execute(account_exports.update()
                                     .where(account_exports.c.job_id == job_id)
                                     .values(size_bytes=size, chunks=seq,
                                             sha256=digest.hexdigest()))
        return StoredArchive(job_id, size, seq, digest.hexdigest(), expires_at)

    async def stored(self, job_id: str) -> StoredArchive | None:
        """The archive of a job, unless it expired."""
        t = account_exports
        query = select(t).where(t.c.job_id == job_id, t.c.expires_at > datetime.now(UTC))
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else StoredArchive(row.job_id, row.size_bytes, row.chunks,
                                                      row.sha256, row.expires_at)

    async def chunks(self, archive: StoredArchive) -> AsyncIterator[bytes]:
        t = account_export_chunks
        query = select(t.c.data).where(t.c.job_id == archive.job_id, t.c.seq == bindparam("seq"))
        for seq in range(archive.chunks):
            async with self.engine.connect() as connection:
                data = (await connection.execute(query, {"seq": seq})).scalar_one_or_none()
            if data is None:  # deleted (expired, erased) while it was being sent
                raise ExportExpired(archive.job_id)
            yield bytes(data)

    async def delete_expired(self, now: datetime | None = None) -> int:
        at = now or datetime.now(UTC)
        async with self.engine.begin() as connection:
            result = await connection.execute(delete(account_exports)
                                              .where(account_exports.c.expires_at <= at))
        return result.rowcount or 0

    async def delete_owner(self, owner_id: str) -> int:
        """Every archive of a user (what an erasure deletes of the exports)."""
        async with self.engine.begin() as connection:
            result = await connection.execute(delete(account_exports)
                                              .where(account_exports.c.owner_id == owner_id))
        return result.rowcount or 0


@dataclass
class AccountExports:
    """The use cases of the routes: start (or find) a user's export, and its archive."""

    jobs: Jobs
    archives: ArchiveStore
    reuse_seconds: float

    async def start(self, owner_id: str) -> tuple[Any, bool]:
        """The export that answers the owner now (a queued or running one, or one that
        succeeded within the reuse window and is still stored), else a new one; and
        whether it is new."""
        recent = await self.jobs.latest_succeeded(owner_id, "")
        window = datetime.now(UTC) - timedelta(seconds=self.reuse_seconds)
        if (recent is not None and recent.requested_at > window
                and await self.archives.stored(recent.job_id) is not None):
            return recent, False
        return await self.jobs.request(ExportRequested(job_id=Jobs.new_id(),
                                                       owner_id=owner_id, resume_id=""))

    async def archive(self, job: Any) -> StoredArchive:
        """The stored archive of the owner's job (checked by the caller)."""
        if job.status != "succeeded":
            raise ExportNotReady(job.status)
        stored = await self.archives.stored(job.job_id)
        if stored is None:
            raise ExportExpired(job.job_id)
        return stored


def build_exports(settings: ExportSettings, engine: AsyncEngine) -> AccountExports:
    jobs = Jobs(EXPORT_JOB, job_records,
                EventStore(event_tables, AUTH_PRODUCER, service_metrics("auth_service")),
                make_sessionmaker(engine), make_read_sessionmaker(engine),
                JobWaiter(asyncpg_dsn(settings.database_url), job_finished_channel(SCHEMA)))
    return AccountExports(jobs, ArchiveStore(engine, settings.export_chunk_bytes),
                          settings.export_reuse_seconds)
