"""The `resumes` read model, updated from resume events in the same statement as the
append (`INLINE_PROJECTION`, so a write is visible to the next read), and rebuildable from
the log (`apply_event`, `apply_batch`: the same rules in Python, for rebuilds and replays).

Every event carries the whole document, so applying an event is "set the row to this
version"; an event at or below the row's version is ignored, which makes replays harmless.
A deleted resume stays as a tombstone row (`deleted_at`), so its version keeps counting;
ResumeUndeleted carries the document again, and like every document event it leaves the row
live (`deleted_at` null).
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from contracts.envelope import EventEnvelope
from contracts.resume import DOCUMENT_SCHEMA_VERSION
from contracts.resume_events import (
    RESUME_EVENTS,
    ResumeCreated,
    ResumeDeleted,
    ResumeUndeleted,
    ResumeUpdated,
)
from resume_service.tables import SCHEMA, resumes
from runtime.projection import Projection

NAME = "resumes"


Written = ResumeCreated | ResumeUpdated | ResumeUndeleted  # the events that carry a document


def written(envelope: EventEnvelope) -> Written:
    """The event of an envelope that carries a document, built without validating it again: it
    was validated when recorded, and a rebuild builds tens of thousands (validating costs
    ~40 µs an event, building ~5 µs). Nested models stay the stored dicts: read the document
    with `stored_document`."""
    event = RESUME_EVENTS[envelope.event_type].model_construct(**envelope.payload)
    assert isinstance(event, Written)
    return event


def stored_document(event: Written) -> dict[str, Any]:
    """The document of an event from `written`: the JSON object as stored."""
    return cast(dict[str, Any], event.document)


def _document_columns(event: Written) -> dict[str, Any]:
    document = stored_document(event)
    return {"title": document.get("title", ""), "template": document.get("template", ""),
            "document": document}


async def apply_event(session: AsyncSession, envelope: EventEnvelope) -> None:
    if envelope.event_type == ResumeDeleted.event_type:
        await session.execute(update(resumes).where(
            resumes.c.id == envelope.stream_id, resumes.c.version < envelope.stream_version,
        ).values(version=envelope.stream_version, deleted_at=envelope.occurred_at,
                 updated_at=envelope.occurred_at))
        return
    event = written(envelope)
    values = {"version": envelope.stream_version, **_document_columns(event),
              "updated_at": envelope.occurred_at, "deleted_at": None}
    statement = insert(resumes).values(
        id=envelope.stream_id, owner_id=event.owner_id, created_at=envelope.occurred_at,
        **values,
    ).on_conflict_do_update(
        index_elements=[resumes.c.id], set_=values,
        where=resumes.c.version < envelope.stream_version,
    )
    await session.execute(statement)


# The append statement's tail (runtime.eventstore.EventStore.inline_projection): the rules of
# `apply_event` for the one event a command appends. `ON CONFLICT ... WHERE` keeps the newer
# version, as above.
_DOCUMENT_EVENTS = (f"('{ResumeCreated.event_type}', '{ResumeUpdated.event_type}', "
                    f"'{ResumeUndeleted.event_type}')")
INLINE_PROJECTION = f"""
projected AS (
    INSERT INTO {SCHEMA}.resumes AS r
        (id, owner_id, version, title, template, document, created_at, updated_at)
    SELECT :stream_id, a.payload->>'owner_id', a.stream_version,
           coalesce(a.payload->'document'->>'title', ''),
           coalesce(a.payload->'document'->>'template', ''), a.payload->'document',
           a.recorded_at, a.recorded_at
    FROM (SELECT * FROM appended WHERE event_type IN {_DOCUMENT_EVENTS}
          ORDER BY stream_version DESC LIMIT 1) a
    ON CONFLICT (id) DO UPDATE SET version = excluded.version, title = excluded.title,
        template = excluded.template, document = excluded.document,
        updated_at = excluded.updated_at, deleted_at = NULL
    WHERE r.version < excluded.version
), tombstoned AS (
    UPDATE {SCHEMA}.resumes r SET version = a.stream_version, deleted_at = a.recorded_at,
        updated_at = a.recorded_at
    FROM appended a
    WHERE r.id = :stream_id AND a.event_type = '{ResumeDeleted.event_type}'
      AND r.version < a.stream_version
)"""


async def apply_batch(session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
    """Apply events in log order with the outcome of `apply_event` one by one, in few
    statements (used by rebuilds). Each resume in the batch collapses to one row holding its
    newest document; "newer version wins" still decides against the stored row. A row's
    `deleted_at` is what its last event in the batch says (a deletion sets it, every document
    event, ResumeUndeleted included, clears it), so a batch row overwrites the stored one's.

    Events read from this schema's log (they have a global position) let Postgres copy the
    document straight from the stored event, instead of sending it back from Python."""
    rows, lone_deletions = _collapse(envelopes)
    for envelope in lone_deletions:  # deletions of resumes with no document in this batch
        await apply_event(session, envelope)
    upcast = await _stored_in_an_older_shape(session, rows.values())
    copied = [row for row in rows.values() if row["position"] is not None
              and row["position"] not in upcast]
    sent = [row for row in rows.values() if row["position"] is None
            or row["position"] in upcast]
    if copied:
        await session.execute(_UPSERT_FROM_LOG, _columns(copied))
    if sent:
        statement = insert(resumes)
        new = statement.excluded
        await session.execute(statement.on_conflict_do_update(
            index_elements=[resumes.c.id],
            set_={"version": new.version, "title": new.title, "template": new.template,
                  "document": new.document, "updated_at": new.updated_at,
                  "deleted_at": new.deleted_at},
            where=resumes.c.version < new.version,
        ), [_with_document(row) for row in sent])


async def _stored_in_an_older_shape(session: AsyncSession,
                                    rows: Iterable[dict[str, Any]]) -> set[int]:
    """The log positions, among the rows' sources, of events stored in an older schema
    version: their documents are the upcast ones, not the stored ones, so they cannot be
    copied from the log."""
    positions = [row["position"] for row in rows if row["position"] is not None]
    if not positions:
        return set()
    result = await session.execute(_OLDER_SHAPE, {
        "positions": positions, "current": DOCUMENT_SCHEMA_VERSION})
    return set(result.scalars())


_OLDER_SHAPE = text(f"""
SELECT global_position FROM {SCHEMA}.events
WHERE global_position = ANY(CAST(:positions AS bigint[])) AND schema_version < :current""")


_UPSERT_FROM_LOG = text(f"""
INSERT INTO {SCHEMA}.resumes AS r
    (id, owner_id, version, title, template, document, created_at, updated_at, deleted_at)
SELECT b.id, b.owner_id, b.version, coalesce(e.payload->'document'->>'title', ''),
       coalesce(e.payload->'document'->>'template', ''), e.payload->'document',
       b.created_at, b.updated_at, b.deleted_at
FROM unnest(CAST(:id AS text[]), CAST(:owner_id AS text[]), CAST(:version AS int[]),
            CAST(:position AS bigint[]), CAST(:created_at AS timestamptz[]),
            CAST(:updated_at AS timestamptz[]), CAST(:deleted_at AS timestamptz[]))
     AS b(id, owner_id, version, position, created_at, updated_at, deleted_at)
JOIN {SCHEMA}.events e ON e.global_position = b.position
ON CONFLICT (id) DO UPDATE SET version = excluded.version, title = excluded.title,
    template = excluded.template, document = excluded.document,
    updated_at = excluded.updated_at, deleted_at = excluded.deleted_at
WHERE r.version < excluded.version""")


def _columns(rows: Iterable[dict[str, Any]]) -> dict[str, list[Any]]:
    names = ("id", "owner_id", "version", "position", "created_at", "updated_at", "deleted_at")
    table = list(rows)
    return {name: [row[name] for row in table] for name in names}


def _with_document(row: dict[str, Any]) -> dict[str, Any]:
    """A collapsed row with its document columns, read from the event that holds them."""
    values = {k: v for k, v in row.items() if k not in ("position", "source")}
    return {**values, **_document_columns(written(row["source"]))}


def _collapse(envelopes: Sequence[EventEnvelope]) -> tuple[dict[str, dict[str, Any]],
                                                           list[EventEnvelope]]:
    """Per resume, the row the batch's events leave behind (`source` = the event holding its
    document, `position` = its place in the log), and the deletions of resumes without a
    document event in the batch. Payloads are read only where needed: the owner from a
    resume's first event in the batch, the document by `_with_document` (a row copied from
    the log needs none)."""
    rows: dict[str, dict[str, Any]] = {}
    lone_deletions: list[EventEnvelope] = []
    for envelope in envelopes:
        row = rows.get(envelope.stream_id)
        at, version = envelope.occurred_at, envelope.stream_version
        if envelope.event_type == ResumeDeleted.event_type:
            if row is None:
                lone_deletions.append(envelope)
            else:
                row.update(version=version, deleted_at=at, updated_at=at)
            continue
        values = {"version": version, "updated_at": at, "source": envelope,
                  "position": envelope.global_position, "deleted_at": None}
        if row is None:
            rows[envelope.stream_id] = {"id": envelope.stream_id, "created_at": at,
                                        "owner_id": written(envelope).owner_id, **values}
        else:
            row.update(values)
    return rows, lone_deletions


async def reset(session: AsyncSession) -> None:
    await session.execute(delete(resumes))


# The reads of every request, built once with bound parameters (building costs more than
# running them).
_STATE_ROW = select(resumes.c.id, resumes.c.owner_id, resumes.c.version, resumes.c.created_at,
                    resumes.c.deleted_at).where(resumes.c.id == bindparam("resume_id"))
_OWNED_ROW = select(resumes).where(resumes.c.id == bindparam("resume_id"),
                                   resumes.c.owner_id == bindparam("owner_id"),
                                   resumes.c.deleted_at.is_(None))
_OWNED_ROWS = (select(resumes).where(resumes.c.owner_id == bindparam("owner_id"),
                                     resumes.c.deleted_at.is_(None))
               .order_by(resumes.c.updated_at.desc()))


_TRASHED_ROWS = (select(resumes).where(resumes.c.owner_id == bindparam("owner_id"),
                                       resumes.c.deleted_at > bindparam("since"))
                 .order_by(resumes.c.deleted_at.desc()))
_ANY_ROW = select(resumes).where(resumes.c.id == bindparam("resume_id"))


async def state_row(connection: AsyncConnection, resume_id: str) -> Any:
    """What a command decides on, of any resume (deleted or another user's too): id, owner,
    version, created_at, deleted_at; None for an id never used."""
    return (await connection.execute(_STATE_ROW, {"resume_id": resume_id})).first()


async def owned_row(session: AsyncSession, owner_id: str, resume_id: str) -> Any:
    """The live resume row when `owner_id` owns it, else None."""
    return (await session.execute(_OWNED_ROW, {"resume_id": resume_id, "owner_id": owner_id})
            ).first()


async def owned_rows(session: AsyncSession, owner_id: str) -> list[Any]:
    return list((await session.execute(_OWNED_ROWS, {"owner_id": owner_id})).all())


async def trashed_rows(session: AsyncSession, owner_id: str, since: datetime) -> list[Any]:
    """The owner's resumes deleted after `since`, the latest deletion first."""
    return list((await session.execute(_TRASHED_ROWS, {"owner_id": owner_id, "since": since})
                 ).all())


async def any_row(connection: AsyncConnection, resume_id: str) -> Any:
    """The whole row of a resume, live or deleted, whoever owns it (None: never used)."""
    return (await connection.execute(_ANY_ROW, {"resume_id": resume_id})).first()


PROJECTIONS = [
    Projection(NAME, SCHEMA, frozenset(RESUME_EVENTS), reset, apply_event, apply_batch),
]
