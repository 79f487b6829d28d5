"""A service's own copy of resumes (owner and document by version), fed by resume events.

compile_service and ai_service need a resume's content and owner without calling
resume_service. Every resume event carries the whole document, so the replica keeps one row
per (resume, version): inserting is idempotent and order does not matter; the latest row
is the current state, and a `deleted` row ends the resume.
"""

import asyncio
import functools
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.envelope import EventEnvelope
from contracts.resume_events import RESUME_EVENTS, ResumeDeleted, ResumeEvent
from contracts.topology import RESUME_EVENT_KEYS
from runtime.bus import Consumer
from runtime.consumers import idempotent
from runtime.projection import Projection


def define_resume_replica(metadata: MetaData) -> Table:
    return Table(
        "resume_versions", metadata,
        Column("resume_id", Text, primary_key=True),
        Column("version", Integer, primary_key=True),
        Column("owner_id", Text, nullable=False),
        Column("document", JSONB, nullable=True),
        Column("deleted", Boolean, nullable=False, server_default=sa.false()),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
    )


def create_resume_replica(op: Operations, schema: str) -> None:
    op.create_table(
        "resume_versions",
        sa.Column("resume_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("document", JSONB, nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )


# the field of ResumeCreated and ResumeUpdated holding the document (tests/unit check it)
DOCUMENT_FIELD = "document"


@dataclass(frozen=True)
class _Statements:
    """A replica's statements, built once per table (building costs more than running)."""

    insert: Any
    latest: Any
    at_version: Any


@functools.cache
def _statements(replica: Table) -> _Statements:
    return _Statements(
        insert=insert(replica).values(
            resume_id=bindparam("p_resume_id"), version=bindparam("p_version"),
            owner_id=bindparam("p_owner_id"),
            document=bindparam("p_document", type_=JSONB(none_as_null=True)),
            deleted=bindparam("p_deleted"), recorded_at=bindparam("p_recorded_at"),
        ).on_conflict_do_nothing(),
        latest=select(replica).where(replica.c.resume_id == bindparam("resume_id"))
        .order_by(replica.c.version.desc()).limit(1),
        at_version=select(replica).where(replica.c.resume_id == bindparam("resume_id"),
                                         replica.c.version == bindparam("version")),
    )


async def apply_resume_event(session: AsyncSession, replica: Table,
                             envelope: EventEnvelope) -> None:
    """Record one version. The payload is parsed as the fields every resume event has
    (contracts.resume_events.ResumeEvent); the document is copied as stored, not parsed:
    validating it would cost about 25 times as much, and a document that an older schema
    accepted must still reach the replica."""
    event = ResumeEvent.model_validate(envelope.payload)
    await session.execute(_statements(replica).insert, {
        "p_resume_id": envelope.stream_id, "p_version": envelope.stream_version,
        "p_owner_id": event.owner_id,
        "p_document": envelope.payload.get(DOCUMENT_FIELD),
        "p_deleted": envelope.event_type == ResumeDeleted.event_type,
        "p_recorded_at": envelope.occurred_at})


def resume_replica_consumer(name: str, sessions: async_sessionmaker[AsyncSession],
                            processed: Table, replica: Table, max_attempts: int = 5) -> Consumer:
    async def effect(session: AsyncSession, envelope: EventEnvelope) -> None:
        await apply_resume_event(session, replica, envelope)

    return Consumer(name, RESUME_EVENT_KEYS, idempotent(sessions, processed, name, effect),
                    max_attempts=max_attempts)


async def latest(session: AsyncSession, replica: Table, resume_id: str) -> Any:
    return (await session.execute(_statements(replica).latest, {"resume_id": resume_id})
            ).first()


async def owned_version(session: AsyncSession, replica: Table, owner_id: str, resume_id: str,
                        version: int | None = None) -> Any:
    """The row of `version` (or the latest), when the resume is live and `owner_id`'s."""
    head = await latest(session, replica, resume_id)
    if head is None or head.deleted or head.owner_id != owner_id:
        return None
    return await _version_of(session, replica, head, version)


async def _version_of(session: AsyncSession, replica: Table, head: Any,
                      version: int | None) -> Any:
    """The row of `version` (or the head) of a live resume whose head was just read."""
    if version is None or version == head.version:
        return head
    row = (await session.execute(_statements(replica).at_version,
                                 {"resume_id": head.resume_id, "version": version})).first()
    # the version may have arrived since the head was read: a deletion is no resume to rate
    return None if row is None or row.deleted else row


async def wait_for_version(sessions: async_sessionmaker[AsyncSession], replica: Table,
                           owner_id: str, resume_id: str, version: int | None,
                           timeout: float) -> Any:
    """Wait (bounded) for `version` of the owner's resume to reach the replica, or with no
    version for the resume's first one (a resume created a moment ago may still be on its
    way). The row; None on time-out, and at once when no wait can make the resume the
    owner's (it is another user's, or deleted)."""
    deadline = time.monotonic() + timeout
    while True:
        async with sessions() as session:
            head = await latest(session, replica, resume_id)
            if head is not None:
                if head.deleted or head.owner_id != owner_id:
                    return None
                row = await _version_of(session, replica, head, version)
                if row is not None:
                    return row
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.05)


class ResumeNotFound(Exception):
    """Unknown, deleted or another user's resume (or version) in this service's replica: all
    look the same from outside."""


def replica_projection(name: str, source_schema: str, replica: Table) -> Projection:
    """The replica as a projection the operator tooling can rebuild from resume events."""
    async def reset(session: AsyncSession) -> None:
        await session.execute(sa.delete(replica))

    async def apply(session: AsyncSession, envelope: EventEnvelope) -> None:
        await apply_resume_event(session, replica, envelope)

    return Projection(name, source_schema, frozenset(RESUME_EVENTS), reset, apply)


async def live_document(sessions: async_sessionmaker[AsyncSession], replica: Table,
                        owner_id: str, resume_id: str, version: int) -> dict[str, Any] | None:
    """The document of one version of the owner's live resume (what a job works on); None
    when the resume was deleted, or is not theirs."""
    async with sessions() as session:
        row = await owned_version(session, replica, owner_id, resume_id, version)
    return None if row is None else row.document  # type: ignore[no-any-return]
