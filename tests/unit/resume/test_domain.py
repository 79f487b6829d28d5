"""The resume aggregate without I/O: given events, when a command, then events."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contracts.resume import ResumeDocument, Section
from contracts.resume_events import ResumeCreated, ResumeDeleted, ResumeUndeleted, ResumeUpdated
from resume_service.domain import (
    RESTORE_WINDOW,
    CreateResume,
    DeleteResume,
    RestoreResume,
    ResumeIdTaken,
    ResumeNotDeleted,
    ResumeNotFound,
    ResumeState,
    StaleVersion,
    UndeleteResume,
    UpdateResume,
    VersionNotFound,
    decide,
    describe_change,
    fold,
)

OWNER, OTHER, RID = "alice", "bob", "r1"
DOC = ResumeDocument(title="CV")


def created() -> ResumeCreated:
    return ResumeCreated(resume_id=RID, owner_id=OWNER, document=DOC)


def test_create_on_a_new_stream_records_resume_created() -> None:
    [event] = decide(fold(RID, []), CreateResume(OWNER, DOC))
    assert isinstance(event, ResumeCreated) and event.owner_id == OWNER


def test_create_again_by_the_owner_records_nothing() -> None:
    assert decide(fold(RID, [created()]), CreateResume(OWNER, DOC)) == []


def test_create_with_another_users_id_is_refused() -> None:
    with pytest.raises(ResumeIdTaken):
        decide(fold(RID, [created()]), CreateResume(OTHER, DOC))


def test_update_with_stale_expected_version_is_refused_with_current_version() -> None:
    state = fold(RID, [created(), ResumeUpdated(resume_id=RID, owner_id=OWNER, document=DOC)])
    with pytest.raises(StaleVersion) as raised:
        decide(state, UpdateResume(OWNER, DOC, expected_version=1))
    assert raised.value.current_version == 2


def test_every_command_on_another_users_resume_is_not_found() -> None:
    state = fold(RID, [created()])
    for command in (UpdateResume(OTHER, DOC), DeleteResume(OTHER), RestoreResume(OTHER, 1, DOC)):
        with pytest.raises(ResumeNotFound):
            decide(state, command)


def test_deleted_resume_is_not_found_and_its_id_stays_taken() -> None:
    state = fold(RID, [created(), ResumeDeleted(resume_id=RID, owner_id=OWNER)])
    assert state.deleted and state.version == 2
    with pytest.raises(ResumeNotFound):
        decide(state, UpdateResume(OWNER, DOC))
    with pytest.raises(ResumeIdTaken):
        decide(state, CreateResume(OWNER, DOC))


def test_restore_of_a_version_that_does_not_exist_is_refused() -> None:
    with pytest.raises(VersionNotFound):
        decide(fold(RID, [created()]), RestoreResume(OWNER, 5, DOC))


def test_restore_records_an_update_that_names_the_restored_version() -> None:
    [event] = decide(fold(RID, [created()]), RestoreResume(OWNER, 1, DOC))
    assert isinstance(event, ResumeUpdated) and event.restored_from == 1


def test_change_summary_names_added_and_edited_sections() -> None:
    section = Section(title="Experience")
    before = DOC.model_copy(update={"sections": [section]})
    after = DOC.model_copy(update={
        "title": "New", "sections": [section.model_copy(update={"title": "Work"}),
                                     Section(title="Skills")]})
    summary = describe_change(before, ResumeUpdated(resume_id=RID, owner_id=OWNER,
                                                    document=after))
    assert "title changed" in summary
    assert "section “Skills” added" in summary
    assert "section “Work” edited" in summary


def test_change_summary_names_a_new_locale() -> None:
    after = DOC.model_copy(update={"locale": "de"})
    summary = describe_change(DOC, ResumeUpdated(resume_id=RID, owner_id=OWNER, document=after))
    assert summary == "locale changed"


DELETED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def deleted_state() -> ResumeState:
    state = fold(RID, [created(), ResumeDeleted(resume_id=RID, owner_id=OWNER)])
    return replace(state, deleted_at=DELETED_AT)


def test_undelete_within_the_window_records_resume_undeleted_and_the_resume_lives() -> None:
    now = DELETED_AT + RESTORE_WINDOW - timedelta(seconds=1)
    [event] = decide(deleted_state(), UndeleteResume(OWNER, DOC, now))
    assert isinstance(event, ResumeUndeleted) and event.document == DOC
    after = fold(RID, [created(), ResumeDeleted(resume_id=RID, owner_id=OWNER), event])
    assert after.visible_to(OWNER) and after.version == 3
    assert describe_change(DOC, event) == "undeleted"


@pytest.mark.parametrize("owner, now", [
    (OWNER, DELETED_AT + RESTORE_WINDOW), (OTHER, DELETED_AT + timedelta(days=1))])
def test_undelete_after_the_window_or_by_another_user_is_not_found(owner: str,
                                                                   now: datetime) -> None:
    with pytest.raises(ResumeNotFound):
        decide(deleted_state(), UndeleteResume(owner, DOC, now))


def test_undelete_of_a_live_resume_is_refused() -> None:
    with pytest.raises(ResumeNotDeleted):
        decide(fold(RID, [created()]), UndeleteResume(OWNER, DOC, DELETED_AT))
