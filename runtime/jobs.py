"""One job lifecycle for every job kind (compiles, ratings, and what follows).

A job is an event stream in the shape of `contracts.jobs`: requested, started once per
attempt, finished once. What a kind supplies is its events (the request carries the input,
the finish the result), a reuse key, and the work a worker does (`JobWork`); the rest is here:

- the read model, one `jobs` table per schema (`define_job_table`, `create_job_table`),
  written in the same transaction as the events, so the next read sees a write;
- `decide`/`evolve` as pure functions over `JobState`;
- one concurrency rule for every write: decide on the job's row, append at the row's version;
  a writer that lost the race to another (the stream's unique version key refuses it)
  reloads the row and decides again, and a finished job decides nothing, which makes
  redelivered and duplicated work messages harmless;
- identical requests: a job whose reuse key is set answers every identical request (a partial
  unique index; racing requests wait for the first and take its job); a kind's key is
  cleared when its job fails, and also when it succeeds unless `reuse_succeeded`;
- the long poll: the table's trigger NOTIFYs `<schema>_job_finished` when a job finishes, and
  one LISTEN connection per process (runtime.waiting) wakes the requests waiting on it;
- a job whose result exists already, or that its request worked out itself (`run_by`), is
  recorded requested (started) and finished in one transaction, its row in one insert;
- the worker (`JobRunner`): claim, work, close; an infrastructure failure raises (the message
  is retried), and on the last attempt the job is closed as failed first; the request of a
  job found finished (at once) is acknowledged without work;
- cancelling (`Jobs.cancel`, the `Cancel` command): the owner closes a queued or running job
  as failed (`cancelled`); a worker that claims it later finds it finished and does nothing,
  one running it notices within `JobRunner.watch_seconds` and cancels its run, and its own
  close, decided on the finished row, records nothing;
- the stale sweep: a job still unfinished long after its request (its message dead-lettered,
  say) is closed as failed, so no long poll or reuse waits on it forever;
- the routes' shared parts: `OwnedJob` (this user's job or 404), `WaitedJob` (`?wait=`) and
  `CancelledJob` (the cancel: 404, or 409 `job_finished`).
"""

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar
from uuid import UUID, uuid4

import sqlalchemy as sa
from alembic.operations import Operations
from fastapi import Depends, FastAPI, Query, Request
from faststream.rabbit import RabbitBroker
from pydantic import Field
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.envelope import EventEnvelope
from contracts.jobs import (
    FINISH_FIELDS,
    REQUEST_FIELDS,
    JobEvent,
    JobFinished,
    JobRequested,
    JobStarted,
)
from contracts.topology import CONSUMERS
from runtime.bus import Consumer
from runtime.eventstore import EventStore, EventTables, NewEvent, VersionConflict
from runtime.http import ApiError, OrjsonResponse, error_response
from runtime.identity import CurrentUser
from runtime.lifecycle import bus_running
from runtime.ops import Check, ops_listener
from runtime.projection import Projection
from runtime.registry import StreamView
from runtime.settings import ServiceSettings
from runtime.waiting import JobWaiter

log = logging.getLogger(__name__)

Status = Literal["queued", "running", "succeeded", "failed"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed"})
_WRITE_ATTEMPTS = 5  # a job has few writers: a duplicate delivery, a racing closer
_REQUEST_ATTEMPTS = 3

Requested = TypeVar("Requested", bound=JobRequested)
Prepared = TypeVar("Prepared")
RequestedIn = TypeVar("RequestedIn", bound=JobRequested, contravariant=True)


class JobSettings(ServiceSettings):
    """What every service that runs jobs can set (un-prefixed environment variables)."""

    job_version_wait_seconds: float = Field(5.0, ge=0, description="How long a job request "
                                            "waits for the resume (or the version it names) to "
                                            "reach this service's replica.")
    job_status_max_wait_seconds: float = Field(30.0, ge=0, description="Longest `?wait=` a "
                                               "job status answers after.")
    job_worker_in_app: bool = Field(True, description="Run the job worker inside the HTTP "
                                                      "process (else: `python -m <service>"
                                                      ".worker`).")
    job_stale_after_seconds: float = Field(3600.0, gt=0, description="A job unfinished this "
                                           "long after its request is closed as failed.")


# --- the kind ---

@dataclass(frozen=True)
class JobKind:
    """One kind of job: its events, how identical requests are recognised, its names."""

    name: str
    requested: type[JobRequested]
    started: type[JobStarted]
    finished: type[JobFinished]
    reuse_key: Callable[[Any], str]  # of its requested event
    reuse_succeeded: bool  # a succeeded job keeps answering identical requests
    not_found_code: str  # the API's 404 for an unknown (or another user's) job
    noun: str  # "compile job"

    @property
    def events(self) -> dict[str, type[JobEvent]]:
        return {cls.event_type: cls for cls in (self.requested, self.started, self.finished)}

    def failed(self, job_id: str, code: str, reason: str) -> JobFinished:
        return self.finished(job_id=job_id, outcome="failed", error_code=code,
                             error=reason[:4000])


# --- the aggregate, pure ---

class JobExists(Exception):
    """A request for a job id that already has a stream."""


class UnknownJob(Exception):
    """A start or finish for a job with no stream (a foreign or corrupt message)."""


class IdenticalRequestWon(Exception):
    """An identical request's job committed first; this one's was rolled back."""


class RequestKeptRacing(Exception):
    """Identical requests kept replacing each other's jobs (each attempt lost a race)."""

    def __init__(self, kind: "JobKind") -> None:
        super().__init__(f"identical {kind.noun} requests kept racing")
        self.kind = kind


@dataclass(frozen=True)
class JobState:
    job_id: str
    version: int = 0
    status: Status | Literal["new"] = "new"
    owner_id: str = ""
    resume_id: str = ""
    attempts: int = 0

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def just_requested(cls, requested: JobRequested) -> "JobState":
        """The state right after the request, as the first delivery of its message finds it."""
        return cls(requested.job_id, 1, "queued", requested.owner_id, requested.resume_id)

    @classmethod
    def of_row(cls, row: Any) -> "JobState":
        return cls(row.job_id, row.stream_version, row.status, row.owner_id, row.resume_id,
                   row.attempts)


@dataclass(frozen=True)
class RequestJob:
    requested: JobRequested
    finished_at_once: JobFinished | None = None  # the result exists already
    # who did the work within the request itself (its finish is `finished_at_once`): the
    # job's history then has its start too
    run_by: str | None = None


@dataclass(frozen=True)
class Claim:
    worker: str


@dataclass(frozen=True)
class Close:
    finished: JobFinished


@dataclass(frozen=True)
class Cancel:
    """The owner stops a queued or running job: it is closed as failed (`cancelled`)."""

    reason: str = "cancelled by its owner"


Command = RequestJob | Claim | Close | Cancel


def decide(kind: JobKind, state: JobState, command: Command) -> list[JobEvent]:
    if isinstance(command, RequestJob):
        if state.status != "new":
            raise JobExists(state.job_id)
        started = (kind.started(job_id=state.job_id, attempt=1, worker=command.run_by)
                   if command.run_by is not None and command.finished_at_once else None)
        return [command.requested, *filter(None, [started, command.finished_at_once])]
    if state.status == "new":
        raise UnknownJob(state.job_id)
    if state.finished:
        return []  # a redelivery after the outcome was recorded: nothing to do
    if isinstance(command, Claim):
        return [kind.started(job_id=state.job_id, attempt=state.attempts + 1,
                             worker=command.worker)]
    if isinstance(command, Cancel):
        return [kind.failed(state.job_id, "cancelled", command.reason)]
    return [command.finished]


def evolve(state: JobState, event: JobEvent) -> JobState:
    version = state.version + 1
    if isinstance(event, JobRequested):
        return replace(state, version=version, status="queued", owner_id=event.owner_id,
                       resume_id=event.resume_id)
    if isinstance(event, JobStarted):
        return replace(state, version=version, status="running", attempts=event.attempt)
    assert isinstance(event, JobFinished)
    return replace(state, version=version, status=event.outcome)


def fold(job_id: str, events: Iterable[JobEvent]) -> JobState:
    state = JobState(job_id)
    for event in events:
        state = evolve(state, event)
    return state


def job_stream_view(*kinds: JobKind) -> StreamView:
    """How `rb events show` and `rb state` read the job streams of these kinds."""
    types = {name: cls for kind in kinds for name, cls in kind.events.items()}

    def events(envelopes: Sequence[EventEnvelope]) -> list[JobEvent]:
        return [types[e.event_type].model_validate(e.payload) for e in envelopes]

    def state(job_id: str, envelopes: Sequence[EventEnvelope]) -> dict[str, Any]:
        history = events(envelopes)
        folded = asdict(fold(job_id, history))
        for event in history:
            if isinstance(event, JobRequested):
                folded["input"] = event.model_dump(mode="json", exclude=REQUEST_FIELDS)
            if isinstance(event, JobFinished):
                folded["result"] = event.model_dump(mode="json", exclude=FINISH_FIELDS)
                folded["error"] = event.error
        return folded

    return StreamView(describe=lambda envelopes: [_describe(e) for e in events(envelopes)],
                      fold=state)


def _describe(event: JobEvent) -> str:
    if isinstance(event, JobRequested):
        return f"requested by {event.owner_id} for resume {event.resume_id}"
    if isinstance(event, JobStarted):
        return f"attempt {event.attempt} started by {event.worker}"
    assert isinstance(event, JobFinished)
    return event.outcome + (f" ({event.error_code})" if event.error_code else "")


# --- the read model ---

def define_job_table(metadata: MetaData) -> Table:
    """The `jobs` read model; migrations create it with `create_job_table`."""
    return Table(
        "jobs", metadata,
        Column("job_id", Text, primary_key=True),
        Column("kind", Text, nullable=False),
        Column("stream_version", Integer, nullable=False),
        Column("owner_id", Text, nullable=False),
        Column("resume_id", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("reuse_key", Text, nullable=True),
        Column("input", JSONB, nullable=False),
        Column("result", JSONB, nullable=True),
        Column("error_code", Text, nullable=True),
        Column("error", Text, nullable=True),
        Column("requested_at", DateTime(timezone=True), nullable=False),
        Column("started_at", DateTime(timezone=True), nullable=True),
        Column("finished_at", DateTime(timezone=True), nullable=True),
        Index("ux_jobs_reuse", "kind", "reuse_key", unique=True,
              postgresql_where=sa.text("reuse_key IS NOT NULL")),
        Index("ix_jobs_owner", "owner_id", "requested_at"),
        Index("ix_jobs_resume", "resume_id", "requested_at"),
    )


def job_finished_channel(schema: str) -> str:
    return f"{schema}_job_finished"


def create_job_table(op: Operations, schema: str) -> None:
    """The table of `define_job_table`, with its indexes, and the trigger that NOTIFYs the
    long polls when a job finishes."""
    define_job_table(MetaData(schema=schema)).create(op.get_bind())
    channel = job_finished_channel(schema)
    op.execute(f'CREATE OR REPLACE FUNCTION "{schema}".notify_job_finished() RETURNS trigger '
               f"LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('{channel}', NEW.job_id); "
               f"RETURN NULL; END $$")
    op.execute(f'CREATE TRIGGER job_finished AFTER UPDATE OF status ON "{schema}".jobs '
               f"FOR EACH ROW WHEN (NEW.status IN ('succeeded', 'failed') "
               f"AND OLD.status IS DISTINCT FROM NEW.status) "
               f'EXECUTE FUNCTION "{schema}".notify_job_finished()')


class JobRecords:
    """Writes and reads of one kind's rows. Statements are built once, with bound
    parameters: building a statement costs more than running it on a warm connection.
    Each event applies only when newer than the row (`stream_version`), so a replay or a
    rebuild changes nothing."""

    def __init__(self, table: Table, kind: JobKind) -> None:
        self.table, self.kind = table, kind
        t = table
        self._insert = insert(t).values(
            job_id=bindparam("p_job_id"), kind=kind.name,
            stream_version=bindparam("p_stream_version"), owner_id=bindparam("p_owner_id"),
            resume_id=bindparam("p_resume_id"), status="queued",
            reuse_key=bindparam("p_reuse_key"), input=bindparam("p_input", type_=JSONB),
            requested_at=bindparam("p_at"),
        ).on_conflict_do_nothing().returning(*t.c)  # job_id, or the reuse key taken
        newer = (t.c.job_id == bindparam("p_job_id"),
                 t.c.stream_version < bindparam("p_stream_version"))
        self._start = update(t).where(*newer).values(
            stream_version=bindparam("p_stream_version"), status="running",
            attempts=bindparam("p_attempts"), started_at=bindparam("p_at")).returning(*t.c)
        finish = {"stream_version": bindparam("p_stream_version"),
                  "status": bindparam("p_status"), "error_code": bindparam("p_error_code"),
                  "error": bindparam("p_error"), "finished_at": bindparam("p_at"),
                  "result": bindparam("p_result", type_=JSONB(none_as_null=True))}
        self._finish_keeping_key = update(t).where(*newer).values(**finish).returning(*t.c)
        self._finish_freeing_key = update(t).where(*newer).values(
            **finish, reuse_key=None).returning(*t.c)
        # a job finished by its request: its row as its events leave it, in one insert
        self._insert_finished = insert(t).values(
            job_id=bindparam("p_job_id"), kind=kind.name,
            stream_version=bindparam("p_stream_version"), owner_id=bindparam("p_owner_id"),
            resume_id=bindparam("p_resume_id"), status=bindparam("p_status"),
            attempts=bindparam("p_attempts"), reuse_key=bindparam("p_reuse_key"),
            input=bindparam("p_input", type_=JSONB),
            result=bindparam("p_result", type_=JSONB(none_as_null=True)),
            error_code=bindparam("p_error_code"), error=bindparam("p_error"),
            requested_at=bindparam("p_at"), started_at=bindparam("p_started_at"),
            finished_at=bindparam("p_at"),
        ).on_conflict_do_nothing().returning(*t.c)
        self._by_id = select(t).where(t.c.job_id == bindparam("job_id"))
        self._owned = select(t).where(t.c.job_id == bindparam("job_id"),
                                      t.c.owner_id == bindparam("owner_id"),
                                      t.c.kind == kind.name)  # a table may hold several
        self._reusable = select(t).where(t.c.kind == kind.name,
                                         t.c.reuse_key == bindparam("reuse_key"))

    async def apply(self, session: AsyncSession, event: JobEvent, stream_version: int,
                    at: datetime) -> Any:
        """Apply one event; the row as it is now, or None when nothing changed (the event
        was applied before, or the request's reuse key belongs to an identical job)."""
        params: dict[str, Any] = {"p_job_id": event.job_id, "p_stream_version": stream_version,
                                  "p_at": at}
        statement: Any
        if isinstance(event, JobRequested):
            statement = self._insert
            params |= {"p_owner_id": event.owner_id, "p_resume_id": event.resume_id,
                       "p_reuse_key": self.kind.reuse_key(event),
                       "p_input": event.model_dump(mode="json", exclude=REQUEST_FIELDS)}
        elif isinstance(event, JobStarted):
            statement, params["p_attempts"] = self._start, event.attempt
        else:
            assert isinstance(event, JobFinished)
            statement = self._finish_statement(event)
            params |= {"p_status": event.outcome, "p_error_code": event.error_code,
                       "p_error": event.error,
                       "p_result": event.model_dump(mode="json", exclude=FINISH_FIELDS)}
        return (await session.execute(statement, params)).first()

    async def insert_finished(self, session: AsyncSession, events: Sequence[JobEvent],
                              stream_version: int, at: datetime) -> Any:
        """The row of a job requested (maybe started) and finished in one append, as
        `apply` of each event in turn leaves it; None when the reuse key is taken."""
        requested, finished = events[0], events[-1]
        assert isinstance(requested, JobRequested) and isinstance(finished, JobFinished)
        started = any(isinstance(e, JobStarted) for e in events)
        keeps = finished.outcome == "succeeded" and self.kind.reuse_succeeded
        return (await session.execute(self._insert_finished, {
            "p_job_id": requested.job_id, "p_stream_version": stream_version,
            "p_owner_id": requested.owner_id, "p_resume_id": requested.resume_id,
            "p_status": finished.outcome, "p_attempts": 1 if started else 0,
            "p_reuse_key": self.kind.reuse_key(requested) if keeps else None,
            "p_input": requested.model_dump(mode="json", exclude=REQUEST_FIELDS),
            "p_result": finished.model_dump(mode="json", exclude=FINISH_FIELDS),
            "p_error_code": finished.error_code, "p_error": finished.error, "p_at": at,
            "p_started_at": at if started else None})).first()

    def _finish_statement(self, event: JobFinished) -> Any:
        keeps = event.outcome == "succeeded" and self.kind.reuse_succeeded
        return self._finish_keeping_key if keeps else self._finish_freeing_key

    async def apply_envelope(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        event = self.kind.events[envelope.event_type].model_validate(envelope.payload)
        await self.apply(session, event, envelope.stream_version, envelope.occurred_at)

    async def reset(self, session: AsyncSession) -> None:
        await session.execute(sa.delete(self.table).where(self.table.c.kind == self.kind.name))

    def projection(self, name: str, schema: str) -> Projection:
        return Projection(name, schema, frozenset(self.kind.events), self.reset,
                          self.apply_envelope)

    async def by_id(self, session: AsyncSession, job_id: str) -> Any:
        return (await session.execute(self._by_id, {"job_id": job_id})).first()

    async def owned(self, session: AsyncSession, owner_id: str, job_id: str) -> Any:
        return (await session.execute(self._owned, {"job_id": job_id, "owner_id": owner_id})
                ).first()

    async def reusable(self, session: AsyncSession, reuse_key: str) -> Any:
        return (await session.execute(self._reusable, {"reuse_key": reuse_key})).first()

    async def latest_succeeded(self, session: AsyncSession, owner_id: str,
                               resume_id: str) -> Any:
        t = self.table
        query = (select(t).where(t.c.kind == self.kind.name, t.c.resume_id == resume_id,
                                 t.c.owner_id == owner_id, t.c.status == "succeeded")
                 .order_by(t.c.finished_at.desc()).limit(1))
        return (await session.execute(query)).first()

    async def stale(self, session: AsyncSession, requested_before: datetime) -> list[Any]:
        t = self.table
        query = select(t).where(t.c.kind == self.kind.name, t.c.status.in_(("queued",
                                "running")), t.c.requested_at < requested_before).limit(100)
        return list((await session.execute(query)).all())


def jobs_projection(name: str, schema: str, records: Sequence[JobRecords]) -> Projection:
    """One projection of a `jobs` table that holds the rows of several kinds."""
    by_type = {event_type: r for r in records for event_type in r.kind.events}

    async def reset(session: AsyncSession) -> None:
        for r in records:
            await r.reset(session)

    async def apply(session: AsyncSession, envelope: EventEnvelope) -> None:
        await by_type[envelope.event_type].apply_envelope(session, envelope)

    return Projection(name, schema, frozenset(by_type), reset, apply)


# --- the use cases ---

@dataclass
class Jobs:
    """Request, read, wait for, claim and close the jobs of one kind."""

    kind: JobKind
    records: JobRecords
    store: EventStore
    sessions: async_sessionmaker[AsyncSession]
    reads: async_sessionmaker[AsyncSession]
    waiter: JobWaiter

    @staticmethod
    def new_id() -> str:
        return str(uuid4())  # a new random stream: nobody else writes to it

    async def request(self, requested: JobRequested, finished_at_once: JobFinished | None = None,
                      admit: Callable[[], Awaitable[None]] | None = None,
                      run_by: str | None = None) -> tuple[Any, bool]:
        """The job that answers `requested` (an identical one's when its reuse key is taken)
        and whether it is new. `admit` runs in the creating transaction once the job is
        known to be new (a refusal there rolls it back). `run_by`: the worker that produced
        `finished_at_once` within the request (recorded as the job's start)."""
        reuse_key = self.kind.reuse_key(requested)
        for attempt in range(_REQUEST_ATTEMPTS):
            # a job finished at once is created without a look first: an identical job
            # that holds the key makes its insert fail, and the next attempt looks
            if finished_at_once is None or attempt > 0:
                async with self.reads() as session:
                    existing = await self.records.reusable(session, reuse_key)
                if existing is not None:
                    return existing, False
            try:
                return await self._create(RequestJob(requested, finished_at_once, run_by),
                                          admit), True
            except IdenticalRequestWon:
                continue  # rolled back; the next look finds the winner's job
        raise RequestKeptRacing(self.kind)

    async def _create(self, command: RequestJob, admit: Callable[[], Awaitable[None]] | None
                      ) -> Any:
        state = JobState(command.requested.job_id)
        async with self.sessions.begin() as session:
            row = await self._record(session, state, decide(self.kind, state, command),
                                     command.requested.owner_id)
            if row is None:  # the reuse index waited for an identical job's commit
                raise IdenticalRequestWon
            if admit is not None:
                await admit()
        return row

    async def owned(self, owner_id: str, job_id: str) -> Any:
        async with self.reads() as session:
            return await self.records.owned(session, owner_id, job_id)

    async def wait_owned(self, owner_id: str, job_id: str, timeout: float) -> Any:
        """The owner's job once finished, or as it is when `timeout` is up (None: not
        theirs). The first look is also the ownership check."""
        return await self.waiter.wait(job_id, timeout, lambda: self.owned(owner_id, job_id),
                                      lambda row: row is None or row.status in TERMINAL)

    async def is_finished(self, job_id: str) -> bool:
        async with self.reads() as session:
            row = await self.records.by_id(session, job_id)
        return row is None or row.status in TERMINAL

    async def latest_succeeded(self, owner_id: str, resume_id: str) -> Any:
        async with self.reads() as session:
            return await self.records.latest_succeeded(session, owner_id, resume_id)

    async def claim(self, requested: JobRequested, worker: str,
                    causation_id: str | None = None) -> JobState:
        """Record that `worker` took the job; the job's state after (finished: no work).
        Decided first on the state right after the request (a first delivery, the common
        case, reads nothing); a redelivery loses that race to its own earlier claim, and is
        decided again on the row."""
        state, _ = await self._execute(requested.job_id, JobState.just_requested(requested),
                                       Claim(worker), causation_id)
        return state

    async def close(self, state: JobState, finished: JobFinished,
                    causation_id: str | None = None) -> bool:
        """Record the outcome of the job claimed as `state`; False when it was closed since
        (another delivery got there first)."""
        _, recorded = await self._execute(state.job_id, state, Close(finished), causation_id)
        return recorded

    async def cancel(self, owner_id: str, job_id: str) -> tuple[Any, bool]:
        """Close the owner's queued or running job as failed (`cancelled`): the row after,
        and whether this call closed it (False: it had finished already). None for the row
        when the job is not the owner's. A worker running it loses its own close to this one
        (a finished job decides nothing) and stops its run when it notices
        (`JobRunner.watch_seconds`)."""
        row = await self.owned(owner_id, job_id)
        if row is None:
            return None, False
        if row.status in TERMINAL:
            return row, False
        _, recorded = await self._execute(job_id, JobState.of_row(row), Cancel(), None)
        async with self.sessions() as session:
            return await self.records.owned(session, owner_id, job_id), recorded

    async def _execute(self, job_id: str, state: JobState | None,
                       command: Claim | Close | Cancel,
                       causation_id: str | None) -> tuple[JobState, bool]:
        """Decide on the row (or on `state`, when the caller just wrote it), append at its
        version; when another writer moved the stream first, reload and decide again. The
        state after, and whether anything was recorded."""
        for _ in range(_WRITE_ATTEMPTS):
            try:
                async with self.sessions.begin() as session:
                    if state is None:
                        state = await self._load(session, job_id)
                    events = decide(self.kind, state, command)
                    await self._record(session, state, events, state.owner_id, causation_id)
            except VersionConflict:
                state = None
                continue
            for event in events:
                state = evolve(state, event)
            return state, bool(events)
        raise RuntimeError(f"job {job_id}: too many concurrent writers")

    async def _load(self, session: AsyncSession, job_id: str) -> JobState:
        row = await self.records.by_id(session, job_id)
        return JobState(job_id) if row is None else JobState.of_row(row)

    async def _record(self, session: AsyncSession, state: JobState, events: list[JobEvent],
                      owner_id: str, causation_id: str | None = None) -> Any:
        """Append the events at the state's version and apply them to the row; the row
        after the last (None when the request's row could not be inserted)."""
        if not events:
            return None
        new = [NewEvent(e.event_type, e.model_dump(mode="json"), e.schema_version)
               for e in events]
        stored = await self.store.append(session, state.job_id, state.version, new,
                                         user_id=owner_id, causation_id=causation_id,
                                         known_version=True)
        if len(events) > 1 and isinstance(events[0], JobRequested):  # finished at once
            return await self.records.insert_finished(session, events,
                                                      stored[-1].stream_version,
                                                      stored[0].occurred_at)
        row = None
        for event, envelope in zip(events, stored, strict=True):
            row = await self.records.apply(session, event, envelope.stream_version,
                                           envelope.occurred_at)
            if row is None and isinstance(event, JobRequested):
                return None
            if row is None:  # a stream without its row: not a job of this store
                raise UnknownJob(state.job_id)
        return row

    async def fail_stale(self, older_than_seconds: float) -> int:
        """Close as failed the jobs still unfinished that long after their request."""
        before = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
        async with self.reads() as session:
            rows = await self.records.stale(session, before)
        reason = f"not finished within {older_than_seconds:.0f} s of the request"
        closed = 0
        for row in rows:
            state = JobState.of_row(row)
            closed += await self.close(state, self.kind.failed(row.job_id, "stale", reason))
        return closed


# --- the worker ---

class JobWork(Protocol[RequestedIn, Prepared]):
    """What a kind's worker does with one job."""

    async def prepare(self, requested: RequestedIn) -> Prepared:
        """Read what the work needs; runs while the claim is recorded."""
        ...

    async def run(self, job: JobState, requested: RequestedIn,
                  prepared: Prepared) -> JobFinished:
        """The job's outcome. An outcome the user caused is a failed finish; an
        infrastructure failure raises, so the message is retried."""
        ...


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobRunner(Generic[Requested, Prepared]):
    """Handles the request messages of one kind: claim, work, close. A message is
    acknowledged only after the outcome is recorded, so a worker killed mid-job leaves it
    to be redelivered and finished by another."""

    def __init__(self, jobs: Jobs, work: JobWork[Requested, Prepared],
                 max_attempts: int, watch_seconds: float = 0.5,
                 after_close: Callable[[JobFinished], None] | None = None) -> None:
        self.jobs, self.work, self.max_attempts = jobs, work, max_attempts
        self.watch_seconds = watch_seconds  # how often a running job's row is looked at
        # what follows a run's outcome once it is recorded (off the path to the outcome)
        self.after_close = after_close

    async def _run_watched(self, job: JobState, requested: Any,
                           prepared: Any) -> JobFinished | None:
        """The work's outcome, or None when the job was closed meanwhile (cancelled, say):
        the run is then cancelled (a subprocess it awaits is killed; work that cannot be
        interrupted runs on, and its outcome is dropped: the close would decide nothing).
        A job done within `watch_seconds` costs no look at its row."""
        run = asyncio.ensure_future(self.work.run(job, requested, prepared))
        try:
            while True:
                done, _ = await asyncio.wait({run}, timeout=self.watch_seconds)
                if done:
                    return run.result()
                if await self.jobs.is_finished(job.job_id):
                    log.info("%s %s closed while running: run stopped", self.jobs.kind.noun,
                             job.job_id)
                    return None
        finally:
            if not run.done():
                run.cancel()
            await asyncio.gather(run, return_exceptions=True)

    async def handle(self, envelope: EventEnvelope) -> None:
        kind = self.jobs.kind
        requested: Any = kind.requested.model_validate(envelope.payload)
        # before any work: most Typst jobs are finished by their request (their result was
        # there, or made there), and their preparation would be thrown away
        if await self.jobs.is_finished(requested.job_id):
            return
        causation = str(envelope.event_id)
        preparing = asyncio.create_task(self.work.prepare(requested))
        try:
            job = await self.jobs.claim(requested, worker_name(), causation)
            if job.finished:
                return
            try:
                finished = await self._run_watched(job, requested, await preparing)
            except Exception as exc:
                # the Consumer counts the same attempts (one claim per delivery) and
                # dead-letters this delivery when it is the last one
                if job.attempts >= self.max_attempts:
                    await self.jobs.close(job, kind.failed(
                        job.job_id, "gave_up", f"gave up after {job.attempts} attempts: {exc}"),
                        causation)
                raise
            if finished is not None:
                await self.jobs.close(job, finished, causation)  # loses to a cancel: a no-op
                if self.after_close is not None:
                    self.after_close(finished)
        finally:
            if not preparing.done():
                preparing.cancel()
            await asyncio.gather(preparing, return_exceptions=True)

    def consumer(self, name: str, prefetch: int) -> Consumer:
        return Consumer(name, CONSUMERS[name], self.handle, max_attempts=self.max_attempts,
                        prefetch=prefetch)


async def sweep_stale_jobs(jobs: Jobs, settings: JobSettings,
                           every_seconds: float = 300.0) -> None:
    """Run forever beside a worker: close the jobs that outlived `job_stale_after_seconds`."""
    while True:
        try:
            closed = await jobs.fail_stale(settings.job_stale_after_seconds)
            if closed:
                log.warning("closed %d stale %s(s) as failed", closed, jobs.kind.noun)
        except Exception as exc:  # the database may be away for a while: try again later
            log.warning("stale job sweep failed: %r", exc)
        await asyncio.sleep(every_seconds)


@contextlib.asynccontextmanager
async def jobs_running(service: str, settings: JobSettings, broker: RabbitBroker,
                       consumers: list[Consumer], tables: EventTables,
                       checks: Mapping[str, Check], jobs: Jobs | Sequence[Jobs], *,
                       waits: bool, works: bool) -> AsyncIterator[None]:
    """For the span of the block, what a process of a job service runs beside its work:
    its consumers and outbox relay (unless RELAY_IN_PROCESS=false: the starts and finishes
    a worker records must leave even when no HTTP process runs; the advisory lock keeps one
    relay active), the long polls' listener where it `waits`, the stale sweep where it
    `works` (for each kind of `jobs`), and its ops listener."""
    kinds = [jobs] if isinstance(jobs, Jobs) else list(jobs)
    waiters = list({id(k.waiter): k.waiter for k in kinds}.values())  # kinds may share one
    loops = [*([w.run_forever() for w in waiters] if waits else []),
             *([sweep_stale_jobs(k, settings) for k in kinds] if works else [])]
    async with (bus_running(broker, consumers, settings, tables, *loops),
                ops_listener(service, settings, checks)):
        yield


# --- the routes' shared parts ---

def jobs_of(request: Request) -> Jobs:
    """A job service's wiring puts its `Jobs` at `app.state.jobs` (its first kind's; a
    service with more kinds gives the others' routes `waited_job_of` their own getter)."""
    return request.app.state.jobs  # type: ignore[no-any-return]


def _not_found(jobs: Jobs) -> ApiError:
    return ApiError(404, jobs.kind.not_found_code, f"no such {jobs.kind.noun}")


async def _owned_job(job_id: UUID, user: CurrentUser, request: Request) -> Any:
    return await _owned(jobs_of(request), job_id, user)


async def _owned(jobs: Jobs, job_id: UUID, user: str) -> Any:
    row = await jobs.owned(user, str(job_id))
    if row is None:
        raise _not_found(jobs)
    return row


WaitSeconds = Annotated[float, Query(ge=0, le=60, description="Seconds to wait for the job "
                                     "to finish")]


def waited_job_of(get_jobs: Callable[[Request], Jobs]) -> Callable[..., Awaitable[Any]]:
    """The `WaitedJob` dependency for the jobs `get_jobs` finds."""
    async def waited(job_id: UUID, user: CurrentUser, request: Request,
                     wait: WaitSeconds = 0) -> Any:
        jobs = get_jobs(request)
        if wait <= 0:
            return await _owned(jobs, job_id, user)
        limit = min(wait, request.app.state.settings.job_status_max_wait_seconds)
        row = await jobs.wait_owned(user, str(job_id), limit)
        if row is None:
            raise _not_found(jobs)
        return row

    return waited


async def _cancelled_job(job_id: UUID, user: CurrentUser, request: Request) -> Any:
    jobs = jobs_of(request)
    row, cancelled = await jobs.cancel(user, str(job_id))
    if row is None:
        raise _not_found(jobs)
    if not cancelled:  # finished before the cancel (or a racing close won)
        raise ApiError(409, "job_finished", f"the {jobs.kind.noun} is {row.status} already",
                       job_status=row.status)
    return row


def install_job_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestKeptRacing)
    async def _kept_racing(_: Request, exc: RequestKeptRacing) -> OrjsonResponse:
        return error_response(409, f"{exc.kind.name}_request_conflict",
                              f"identical {exc.kind.noun} requests kept racing; try again")


OwnedJob = Annotated[Any, Depends(_owned_job)]
"""The caller's job named by the path's `job_id`, or 404."""
WaitedJob = Annotated[Any, Depends(waited_job_of(jobs_of))]
"""Like OwnedJob, after waiting up to `?wait=` seconds for it to finish."""
CancelledJob = Annotated[Any, Depends(_cancelled_job)]
"""The caller's job named by the path's `job_id`, just closed as failed (`cancelled`); 404
when it is not theirs, 409 `job_finished` (with `job_status`) when it had finished."""

