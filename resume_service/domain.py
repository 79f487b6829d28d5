"""The resume aggregate as pure functions: `decide(state, command) -> events` and
`evolve(state, event) -> state`. The state at version N is the fold of the first N events."""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from contracts.resume import MAX_RESUME_BULLETS, ResumeDocument, bullet_count
from contracts.resume_events import (
    ImportOrigin,
    ResumeCreated,
    ResumeDeleted,
    ResumeEvent,
    ResumeUndeleted,
    ResumeUpdated,
)

RESTORE_WINDOW = timedelta(days=30)  # how long a deleted resume can be undeleted


class DomainError(Exception):
    pass


class ResumeNotFound(DomainError):
    """Unknown, deleted, or another user's resume: all look the same from outside."""


class ResumeIdTaken(DomainError):
    """A client-chosen id that already names another (or a deleted) resume."""


class StaleVersion(DomainError):
    def __init__(self, current_version: int) -> None:
        super().__init__(f"the resume is at version {current_version}")
        self.current_version = current_version


class VersionNotFound(DomainError):
    pass


class ResumeNotDeleted(DomainError):
    """Undelete of a resume that is live."""


class TooManyBullets(DomainError):
    """A document to save holds more bullets than MAX_RESUME_BULLETS."""

    def __init__(self, count: int) -> None:
        super().__init__(f"the resume holds {count} bullets; at most {MAX_RESUME_BULLETS}")
        self.count = count


def check_document_limits(document: ResumeDocument) -> None:
    if (count := bullet_count(document)) > MAX_RESUME_BULLETS:
        raise TooManyBullets(count)


@dataclass(frozen=True)
class ResumeState:
    resume_id: str
    version: int = 0
    owner_id: str | None = None
    document: ResumeDocument | None = None
    deleted: bool = False
    deleted_at: datetime | None = None

    def visible_to(self, user_id: str) -> bool:
        return self.version > 0 and not self.deleted and self.owner_id == user_id

    def restorable_by(self, user_id: str, now: datetime) -> bool:
        """Deleted by `user_id` less than RESTORE_WINDOW before `now`."""
        return (self.deleted and self.owner_id == user_id and self.deleted_at is not None
                and now - self.deleted_at < RESTORE_WINDOW)


@dataclass(frozen=True)
class CreateResume:
    owner_id: str
    document: ResumeDocument
    imported_from: ImportOrigin | None = None


@dataclass(frozen=True)
class UpdateResume:
    owner_id: str
    document: ResumeDocument
    expected_version: int | None = None


@dataclass(frozen=True)
class DeleteResume:
    owner_id: str


@dataclass(frozen=True)
class RestoreResume:
    owner_id: str
    version: int
    document: ResumeDocument


@dataclass(frozen=True)
class UndeleteResume:
    owner_id: str
    document: ResumeDocument  # the one it had when deleted
    now: datetime


Command = CreateResume | UpdateResume | DeleteResume | RestoreResume | UndeleteResume


def decide(state: ResumeState, command: Command) -> list[ResumeEvent]:
    if isinstance(command, CreateResume | UpdateResume):
        check_document_limits(command.document)  # a restore's document was saved once
    if isinstance(command, CreateResume):
        return _decide_create(state, command)
    if isinstance(command, UndeleteResume):
        return _decide_undelete(state, command)
    if not state.visible_to(command.owner_id):
        raise ResumeNotFound(state.resume_id)
    rid, owner = state.resume_id, command.owner_id
    if isinstance(command, UpdateResume):
        check_expected_version(state, command.expected_version)
        return [ResumeUpdated(resume_id=rid, owner_id=owner, document=command.document)]
    if isinstance(command, RestoreResume):
        if not 1 <= command.version <= state.version:
            raise VersionNotFound(command.version)
        return [ResumeUpdated(resume_id=rid, owner_id=owner, document=command.document,
                              restored_from=command.version)]
    return [ResumeDeleted(resume_id=rid, owner_id=owner)]


def _decide_create(state: ResumeState, command: CreateResume) -> list[ResumeEvent]:
    if state.visible_to(command.owner_id):
        return []  # creating with a client id is idempotent
    if state.version > 0:
        raise ResumeIdTaken(state.resume_id)
    return [ResumeCreated(resume_id=state.resume_id, owner_id=command.owner_id,
                          document=command.document, imported_from=command.imported_from)]


def _decide_undelete(state: ResumeState, command: UndeleteResume) -> list[ResumeEvent]:
    """A live resume of the caller is a conflict; one deleted longer ago than the window is
    as gone as a missing one (404), like another user's."""
    if state.visible_to(command.owner_id):
        raise ResumeNotDeleted(state.resume_id)
    if not state.restorable_by(command.owner_id, command.now):
        raise ResumeNotFound(state.resume_id)
    return [ResumeUndeleted(resume_id=state.resume_id, owner_id=command.owner_id,
                            document=command.document)]


def check_expected_version(state: ResumeState, expected: int | None) -> None:
    if expected is not None and expected != state.version:
        raise StaleVersion(state.version)


def evolve(state: ResumeState, event: ResumeEvent) -> ResumeState:
    version = state.version + 1
    if isinstance(event, ResumeCreated):
        return replace(state, version=version, owner_id=event.owner_id, document=event.document)
    if isinstance(event, ResumeUpdated):
        return replace(state, version=version, document=event.document)
    if isinstance(event, ResumeUndeleted):
        return replace(state, version=version, document=event.document, deleted=False)
    return replace(state, version=version, deleted=True)


def fold(resume_id: str, events: Iterable[ResumeEvent]) -> ResumeState:
    state = ResumeState(resume_id)
    for event in events:
        state = evolve(state, event)
    return state


def describe_change(before: ResumeDocument | None, event: ResumeEvent) -> str:
    """A short human summary of what an event changed, for the history view."""
    if isinstance(event, ResumeDeleted):
        return "deleted"
    if isinstance(event, ResumeUndeleted):
        return "undeleted"
    if isinstance(event, ResumeCreated):
        origin = event.imported_from
        return (f"imported “{event.document.title}” ({origin.format})" if origin
                else f"created “{event.document.title}”")
    assert isinstance(event, ResumeUpdated)
    if event.restored_from is not None:
        return f"restored version {event.restored_from}"
    changes = _document_changes(before, event.document)
    return "; ".join(changes) if changes else "no changes"


def _document_changes(before: ResumeDocument | None, after: ResumeDocument) -> list[str]:
    if before is None:
        return ["document replaced"]
    changes = [f"{name} changed" for name in ("title", "template", "locale", "contact")
               if getattr(before, name) != getattr(after, name)]
    old = {s.id: s for s in before.sections}
    new = {s.id: s for s in after.sections}
    changes += [f"section “{s.title}” added" for sid, s in new.items() if sid not in old]
    changes += [f"section “{s.title}” removed" for sid, s in old.items() if sid not in new]
    changes += [f"section “{s.title}” edited" for sid, s in new.items()
                if sid in old and old[sid] != s]
    if [s.id for s in before.sections if s.id in new] != [s.id for s in after.sections
                                                            if s.id in old]:
        changes.append("sections reordered")
    return changes
