"""The rating job aggregate as pure functions, and the content hash.

`decide(state, command) -> events` and `evolve(state, event) -> state`; a job's state is the
fold of its stream. A job is requested once, then closed once: completing or failing a job
that is already closed decides nothing, which is what makes a redelivered work message
harmless.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

import orjson

from contracts.ai_events import (
    FailureCode,
    Rating,
    RatingCompleted,
    RatingEvent,
    RatingFailed,
    RatingRequested,
)

Status = Literal["new", "pending", "completed", "failed"]


class JobAlreadyExists(Exception):
    """A request named a job id that is already taken."""


@dataclass(frozen=True)
class RatingJob:
    job_id: str
    version: int = 0
    status: Status = "new"
    owner_id: str = ""
    resume_id: str = ""
    resume_version: int = 0
    content_hash: str = ""
    model: str = ""
    prompt_version: str = ""


@dataclass(frozen=True)
class RequestRating:
    owner_id: str
    resume_id: str
    resume_version: int
    content_hash: str
    model: str
    prompt_version: str


@dataclass(frozen=True)
class CompleteRating:
    rating: Rating
    model_calls: int


@dataclass(frozen=True)
class FailRating:
    code: FailureCode
    reason: str
    model_calls: int = 0


Command = RequestRating | CompleteRating | FailRating


def decide(state: RatingJob, command: Command) -> list[RatingEvent]:
    if isinstance(command, RequestRating):
        if state.status != "new":
            raise JobAlreadyExists(state.job_id)
        return [RatingRequested(job_id=state.job_id, **vars(command))]
    if state.status != "pending":
        return []  # closed already: a duplicate delivery, nothing to record
    ids = {"job_id": state.job_id, "resume_id": state.resume_id, "owner_id": state.owner_id}
    if isinstance(command, CompleteRating):
        return [RatingCompleted(**ids, rating=command.rating, model_calls=command.model_calls)]
    return [RatingFailed(**ids, code=command.code, reason=command.reason[:2000],
                         model_calls=command.model_calls)]


def evolve(state: RatingJob, event: RatingEvent) -> RatingJob:
    version = state.version + 1
    if isinstance(event, RatingRequested):
        return replace(state, version=version, status="pending", owner_id=event.owner_id,
                       resume_id=event.resume_id, resume_version=event.resume_version,
                       content_hash=event.content_hash, model=event.model,
                       prompt_version=event.prompt_version)
    status: Status = "completed" if isinstance(event, RatingCompleted) else "failed"
    return replace(state, version=version, status=status)


def fold(job_id: str, events: Iterable[RatingEvent]) -> RatingJob:
    state = RatingJob(job_id)
    for event in events:
        state = evolve(state, event)
    return state


def content_hash(model_input: Any) -> str:
    """SHA-256 of the canonical JSON of exactly what the model is shown: equal input, equal
    hash, whatever the key order."""
    return hashlib.sha256(orjson.dumps(model_input, option=orjson.OPT_SORT_KEYS)).hexdigest()
