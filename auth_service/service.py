"""Use cases of auth_service: record a sign-in or sign-out (events, outbox and the users read
model in one transaction) and open or close the Redis session that goes with it."""

import contextlib
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth_service import projections
from auth_service.domain import (
    Profile,
    UserNotFound,
    new_account_id,
    signed_in,
    signed_out,
    user_id_for,
)
from auth_service.tables import erased_users, users
from contracts.auth_events import AuthEvent
from runtime.eventstore import EventStore, NewEvent, VersionConflict
from runtime.sessions import SessionStore

_APPEND_ATTEMPTS = 5


class AccountErasedMeanwhile(Exception):
    """The account a sign-in was recorded for was erased while it was decided."""


class AuthService:
    def __init__(self, db: async_sessionmaker[AsyncSession], store: EventStore,
                 sessions: SessionStore) -> None:
        self.db, self.store, self.sessions = db, store, sessions

    async def sign_in(self, profile: Profile, method: Literal["oidc", "dev"] = "oidc",
                      replaces: str | None = None) -> tuple[str, str]:
        """Record the sign-in and open a new session (a fresh id on every sign-in, so a
        session id planted before login is worthless). Returns (user id, session id)."""
        try:
            event = signed_in(profile, method, await self._account_of(profile))
            await self._record(event)
        except (IntegrityError, AccountErasedMeanwhile):
            # two first sign-ins after an erasure (the other one won), or an erasure of the
            # account between its look-up and the append: decided again
            event = signed_in(profile, method, await self._account_of(profile))
            await self._record(event)
        if replaces:
            await self.sessions.delete(replaces)
        return event.user_id, await self.sessions.create(event.user_id)

    async def sign_out(self, user_id: str, session_id: str | None) -> None:
        """Close the session first (it must die at once), then record the sign-out."""
        if session_id:
            await self.sessions.delete(session_id)
        with contextlib.suppress(AccountErasedMeanwhile):  # nothing of theirs is recorded
            await self._record(signed_out(user_id))

    async def _account_of(self, profile: Profile) -> str:
        """The id of the person's account: the one they have, else the id derived from
        the profile, unless that account was erased (then a new, empty account)."""
        async with self.db() as session:
            found = (await session.execute(select(users.c.id).where(
                users.c.issuer == profile.issuer, users.c.subject == profile.subject))
            ).scalar_one_or_none()
            if found is not None:
                return str(found)
            derived = user_id_for(profile.issuer, profile.subject)
            erased = await self._erased(session, derived)
        return new_account_id() if erased else derived

    @staticmethod
    async def _erased(session: AsyncSession, user_id: str) -> bool:
        return (await session.execute(select(erased_users.c.user_id).where(
            erased_users.c.user_id == user_id))).first() is not None

    async def user(self, user_id: str) -> Any:
        async with self.db() as session:
            row = await projections.load_user(session, user_id)
        if row is None:
            raise UserNotFound(user_id)
        return row

    async def _record(self, event: AuthEvent) -> None:
        """Append at the stream's current version; two sign-ins of one user racing simply
        retry (neither decision depends on the state)."""
        new = [NewEvent(event.event_type, event.model_dump(mode="json"), event.schema_version)]
        for attempt in range(_APPEND_ATTEMPTS):
            try:
                async with self.db.begin() as session:
                    version = await self.store.stream_version(session, event.user_id)
                    for envelope in await self.store.append(
                            session, event.user_id, version, new, user_id=event.user_id):
                        await projections.apply_event(session, envelope)
                    # the append waited for the schema's lock: an erasure that held it has
                    # committed by now, and a sign-in it overtook must not bring it back
                    if await self._erased(session, event.user_id):
                        raise AccountErasedMeanwhile(event.user_id)
                return
            except VersionConflict:
                if attempt == _APPEND_ATTEMPTS - 1:
                    raise
