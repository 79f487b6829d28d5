"""Use cases of compile_service. Each command is one unit of work: fold the job's stream,
decide, append the events (with their outbox rows) and update the `jobs` read model in one
transaction. A finishing transaction also sends NOTIFY so status long-polls wake at once."""

import asyncio
from typing import Any
from uuid import uuid4

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from compile_service import projections
from compile_service.compiler import Compiler
from compile_service.domain import (
    Command,
    FinishAttempt,
    JobState,
    RequestCompile,
    StartAttempt,
    decide,
    evolve,
    fold,
)
from compile_service.tables import resume_replica
from contracts.compile_events import COMPILE_EVENTS, CompileEvent
from contracts.resume import ResumeDocument
from runtime.eventstore import EventStore, NewEvent, VersionConflict, schema_lock_key
from runtime.replica import owned_version, wait_for_version

FINISHED_CHANNEL = "compile_job_finished"
_DEDUP_SPACE = schema_lock_key("compile", "dedup") % 2**31
_COMMAND_RETRIES = 5


class ResumeNotFound(Exception):
    """Unknown, deleted or another user's resume: all look the same from outside."""


class VersionNotAvailable(Exception):
    def __init__(self, current_version: int) -> None:
        super().__init__(f"the resume is at version {current_version}")
        self.current_version = current_version


class CompileService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], store: EventStore,
                 compiler: Compiler, version_wait_seconds: float) -> None:
        self.sessions, self.store, self.compiler = sessions, store, compiler
        self.version_wait_seconds = version_wait_seconds

    async def request(self, owner_id: str, resume_id: str, version: int | None,
                      template: str | None) -> tuple[Any, bool]:
        """Record a job (or find the queued/running one for the same source); return its
        row and whether it is new. Finishes it at once when its PDF is already stored."""
        resume = await self._resume(owner_id, resume_id, version)
        document = ResumeDocument.model_validate(resume.document)
        chosen = self.compiler.choose_template(template, document)
        prepared = self.compiler.prepare(chosen, document)
        stored = prepared.key if await self.compiler.stored(prepared) else None
        async with self.sessions.begin() as session:
            await session.execute(select(func.pg_advisory_xact_lock(
                _DEDUP_SPACE, func.hashtext(f"{resume_id}:{resume.version}:{chosen}"))))
            existing = await projections.active_job(session, resume_id, resume.version, chosen)
            if existing is not None:
                return existing, False
            job_id = str(uuid4())
            command = RequestCompile(owner_id, resume_id, resume.version, chosen,
                                     prepared.engine.name, document.title, stored)
            await self._record(session, JobState(job_id), decide(JobState(job_id), command),
                               owner_id)
            return await projections.owned_job(session, owner_id, job_id), True

    async def _resume(self, owner_id: str, resume_id: str, version: int | None) -> Any:
        # a resume created a moment ago may still be on its way from resume_service
        row = await wait_for_version(self.sessions, resume_replica, owner_id, resume_id,
                                     version, self.version_wait_seconds)
        if row is not None and row.document is not None:
            return row
        async with self.sessions() as session:
            head = await owned_version(session, resume_replica, owner_id, resume_id)
        if head is None or head.document is None:
            raise ResumeNotFound(resume_id)
        raise VersionNotAvailable(head.version)

    async def job(self, owner_id: str, job_id: str) -> Any:
        async with self.sessions() as session:
            return await projections.owned_job(session, owner_id, job_id)

    async def start(self, job_id: str, worker: str) -> JobState:
        return await self.execute(job_id, StartAttempt(worker))

    async def finish(self, job_id: str, outcome: FinishAttempt) -> JobState:
        return await self.execute(job_id, outcome)

    async def execute(self, job_id: str, command: Command) -> JobState:
        """Run a command on an existing job, retrying when another writer moved the stream
        first (a duplicate delivery of the same job)."""
        for attempt in range(_COMMAND_RETRIES):
            try:
                async with self.sessions.begin() as session:
                    state = await self._load(session, job_id)
                    events = decide(state, command)
                    await self._record(session, state, events, state.owner_id)
                for event in events:
                    state = evolve(state, event)
                return state
            except VersionConflict:
                await asyncio.sleep(0.01 * (attempt + 1))
        raise RuntimeError(f"job {job_id}: too many concurrent writers")

    async def document_at(self, owner_id: str, resume_id: str,
                          version: int) -> ResumeDocument | None:
        """The document a job compiles; None when the resume was deleted meanwhile."""
        async with self.sessions() as session:
            row = await owned_version(session, resume_replica, owner_id, resume_id, version)
        if row is None or row.document is None:
            return None
        return ResumeDocument.model_validate(row.document)

    async def _load(self, session: AsyncSession, job_id: str) -> JobState:
        envelopes = await self.store.read_stream(session, job_id)
        return fold(job_id, (COMPILE_EVENTS[e.event_type].model_validate(e.payload)
                             for e in envelopes))

    async def _record(self, session: AsyncSession, state: JobState,
                      events: list[CompileEvent], owner_id: str) -> None:
        if not events:
            return
        new = [NewEvent(e.event_type, e.model_dump(mode="json"), e.schema_version)
               for e in events]
        stored = await self.store.append(session, state.job_id, state.version, new,
                                         user_id=owner_id)
        for envelope in stored:
            await projections.apply_job_event(session, envelope)
        if any(e.event_type == "CompileFinished" for e in events):
            await session.execute(text("SELECT pg_notify(:channel, :job_id)"),
                                  {"channel": FINISHED_CHANNEL, "job_id": state.job_id})
