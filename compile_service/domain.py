"""The compile job aggregate as pure functions: `decide(state, command) -> events` and
`evolve(state, event) -> state`. A finished job never changes again, which is what makes a
redelivered or duplicated work message harmless."""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from contracts.compile_events import (
    CompileEvent,
    CompileFinished,
    CompileRequested,
    CompileStarted,
    Outcome,
)

Status = Literal["new", "queued", "running", "succeeded", "failed"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed"})


class JobExists(Exception):
    """A request for a job id that already has a stream."""


class UnknownJob(Exception):
    """A start or finish for a job with no stream (a foreign or corrupt message)."""


@dataclass(frozen=True)
class JobState:
    job_id: str
    version: int = 0
    status: Status = "new"
    owner_id: str = ""
    resume_id: str = ""
    resume_version: int = 0
    template: str = ""
    engine: str = ""
    title: str = ""
    attempts: int = 0
    artifact_key: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class RequestCompile:
    owner_id: str
    resume_id: str
    resume_version: int
    template: str
    engine: str
    title: str
    stored_artifact: str | None = None  # the PDF of this exact source is already stored


@dataclass(frozen=True)
class StartAttempt:
    worker: str


@dataclass(frozen=True)
class FinishAttempt:
    outcome: Outcome
    artifact_key: str | None = None
    cached: bool = False
    engine_ms: int | None = None
    error: str | None = None


Command = RequestCompile | StartAttempt | FinishAttempt


def decide(state: JobState, command: Command) -> list[CompileEvent]:
    if isinstance(command, RequestCompile):
        return _decide_request(state, command)
    if state.status == "new":
        raise UnknownJob(state.job_id)
    if state.finished:
        return []  # a redelivery after the outcome was recorded: nothing to do
    if isinstance(command, StartAttempt):
        return [CompileStarted(job_id=state.job_id, attempt=state.attempts + 1,
                               worker=command.worker)]
    return [_finished(state.job_id, command)]


def _decide_request(state: JobState, command: RequestCompile) -> list[CompileEvent]:
    if state.status != "new":
        raise JobExists(state.job_id)
    requested = CompileRequested(
        job_id=state.job_id, resume_id=command.resume_id, owner_id=command.owner_id,
        resume_version=command.resume_version, template=command.template,
        engine=command.engine, title=command.title)
    if command.stored_artifact is None:
        return [requested]
    return [requested, CompileFinished(job_id=state.job_id, outcome="succeeded",
                                       artifact_key=command.stored_artifact, cached=True)]


def _finished(job_id: str, command: FinishAttempt) -> CompileFinished:
    return CompileFinished(job_id=job_id, outcome=command.outcome,
                           artifact_key=command.artifact_key, cached=command.cached,
                           engine_ms=command.engine_ms, error=command.error)


def evolve(state: JobState, event: CompileEvent) -> JobState:
    version = state.version + 1
    if isinstance(event, CompileRequested):
        return replace(state, version=version, status="queued", owner_id=event.owner_id,
                       resume_id=event.resume_id, resume_version=event.resume_version,
                       template=event.template, engine=event.engine, title=event.title)
    if isinstance(event, CompileStarted):
        return replace(state, version=version, status="running", attempts=event.attempt)
    assert isinstance(event, CompileFinished)
    return replace(state, version=version, status=event.outcome,
                   artifact_key=event.artifact_key)


def fold(job_id: str, events: Iterable[CompileEvent]) -> JobState:
    state = JobState(job_id)
    for event in events:
        state = evolve(state, event)
    return state
