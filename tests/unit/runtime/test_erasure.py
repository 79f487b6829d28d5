"""What marks an event or a message as an erased user's (runtime.erasure), and how the
operator CLI shows a tombstoned stream."""

import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.envelope import EventEnvelope
from contracts.erasure_events import TOMBSTONE_EVENT_TYPE, TOMBSTONE_PAYLOAD
from resume_service.registration import REGISTRATION as RESUME
from runtime.erasure import holds_user, owner_of

USER = str(uuid.uuid4())


def _envelope(payload: dict[str, Any], user_id: str | None = None,
              event_type: str = "ResumeUpdated", version: int = 1) -> EventEnvelope:
    return EventEnvelope(event_id=uuid.uuid4(), event_type=event_type, stream_id="s",
                         stream_version=version, occurred_at=datetime.now(UTC),
                         user_id=user_id, payload=payload)


def test_the_owner_is_the_payloads_owner_else_the_envelopes_user() -> None:
    assert owner_of(_envelope({"owner_id": USER}, user_id=None)) == USER
    assert owner_of(_envelope({"owner_id": USER}, user_id="someone")) == USER
    assert owner_of(_envelope({}, user_id=USER)) == USER
    assert owner_of(_envelope({"owner_id": ""}, user_id=None)) is None


def test_a_message_is_the_users_when_it_names_their_id() -> None:
    body = _envelope({"owner_id": USER}).model_dump_json().encode()
    assert holds_user(body, USER)
    assert not holds_user(body, str(uuid.uuid4()))
    assert holds_user(b"not json at all " + USER.encode(), USER)


def test_a_tombstoned_resume_stream_folds_and_describes_without_failing() -> None:
    tombstones = [_envelope(dict(TOMBSTONE_PAYLOAD), USER, TOMBSTONE_EVENT_TYPE, v)
                  for v in (1, 2)]
    view = RESUME.stream_view
    assert view is not None
    assert view.describe(tombstones) == [TOMBSTONE_EVENT_TYPE] * 2
    assert view.fold("s", tombstones)["document"] is None
