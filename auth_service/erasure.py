"""Account erasure, auth_service's part (docs/architecture.md, Privacy): `DELETE /user/me`
records `AccountErased` and erases the account's own data in one transaction (its events to
tombstones, the `users` row, so signing in again opens a new, empty account, its account
exports' archives and jobs), then ends
every session of the user at once. The other services erase theirs on `AccountErased` and
report `ErasureCompleted`, which `auth_service.erasures` records per service."""

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth_service.domain import (
    ErasureNotFound,
    ReauthenticationRequired,
    UserNotFound,
    account_erased,
    check_erasure,
)
from auth_service.exports import account_exports
from auth_service.exports import jobs as export_jobs
from auth_service.projections import load_user
from auth_service.tables import erased_users, erasure_progress, erasures, event_tables, users
from contracts.auth_events import AccountErased
from contracts.envelope import EventEnvelope
from contracts.erasure_events import ErasureCompleted
from contracts.topology import AUTH_ERASURES_CONSUMER, CONSUMERS, ERASING_SERVICES
from runtime.bus import Consumer
from runtime.erasure import tombstone
from runtime.eventstore import EventStore, NewEvent
from runtime.sessions import SessionStore

SERVICE = "auth_service"


class AccountErasure:
    def __init__(self, db: async_sessionmaker[AsyncSession], store: EventStore,
                 sessions: SessionStore, max_sign_in_age_seconds: float) -> None:
        self.db, self.store, self.sessions = db, store, sessions
        self.max_sign_in_age_seconds = max_sign_in_age_seconds

    async def erase(self, user_id: str, session_id: str | None, confirm: str) -> str:
        """Erase the account (confirmed, from a fresh sign-in); the erasure's id."""
        signed_in_at = await self.sessions.signed_in_at(session_id) if session_id else None
        if signed_in_at is None:
            raise ReauthenticationRequired
        async with self.db.begin() as session:
            user = await load_user(session, user_id)
            if user is None:  # erased already: a session that outlived it ends now
                await self.sessions.delete_all_of(user_id)
                raise UserNotFound(user_id)
            check_erasure(confirm, user.email, signed_in_at, time.time(),
                          self.max_sign_in_age_seconds)
            erased = await self._record(session, user_id)
        await self.sessions.delete_all_of(user_id)
        return erased.erasure_id

    async def _record(self, session: AsyncSession, user_id: str) -> AccountErased:
        """One transaction: the account's events become tombstones, `AccountErased` is
        appended (ids only) and queued, the user row goes, and auth's part is reported done.
        The append lock is held from the start, so no sign-in of the user commits between."""
        await self.store.lock_appends(session)
        await tombstone(session, event_tables, user_id, [user_id])
        erased = account_erased(user_id)
        version = await self.store.stream_version(session, user_id)
        await self.store.append(session, user_id, version, [NewEvent(
            erased.event_type, erased.model_dump(), erased.schema_version)], user_id=user_id)
        now = datetime.now(UTC)
        await session.execute(delete(users).where(users.c.id == user_id))
        # the account's exports: their archives (every byte of the user's data) and jobs
        await session.execute(delete(account_exports).where(account_exports.c.owner_id == user_id))
        await session.execute(delete(export_jobs).where(export_jobs.c.owner_id == user_id))
        await session.execute(insert(erased_users).values(user_id=user_id)
                              .on_conflict_do_nothing())
        await session.execute(insert(erasures).values(
            erasure_id=erased.erasure_id, user_id=user_id, requested_at=now))
        await session.execute(insert(erasure_progress).values(
            erasure_id=erased.erasure_id, service=SERVICE, completed_at=now))
        return erased

    async def progress(self, erasure_id: str) -> dict[str, Any]:
        """The erasure and each service's report (None: not done yet)."""
        async with self.db() as session:
            erasure = (await session.execute(select(erasures).where(
                erasures.c.erasure_id == erasure_id))).first()
            if erasure is None:
                raise ErasureNotFound(erasure_id)
            done = dict((await session.execute(
                select(erasure_progress.c.service, erasure_progress.c.completed_at)
                .where(erasure_progress.c.erasure_id == erasure_id))).all())
        services = [{"service": name, "completed_at": done.get(name)}
                    for name in ERASING_SERVICES]
        return {"erasure_id": erasure_id, "requested_at": erasure.requested_at,
                "status": "erased" if all(s["completed_at"] for s in services) else "erasing",
                "services": services}

    async def record_completion(self, envelope: EventEnvelope) -> None:
        report = ErasureCompleted.model_validate(envelope.payload)
        async with self.db.begin() as session:
            await session.execute(insert(erasure_progress).values(
                erasure_id=report.erasure_id, service=report.service,
                completed_at=envelope.occurred_at).on_conflict_do_nothing())


def completions_consumer(erasure: AccountErasure, max_attempts: int = 5) -> Consumer:
    """`auth_service.erasures`: each service's `ErasureCompleted`, recorded once."""
    return Consumer(AUTH_ERASURES_CONSUMER, CONSUMERS[AUTH_ERASURES_CONSUMER],
                    erasure.record_completion, max_attempts=max_attempts)
