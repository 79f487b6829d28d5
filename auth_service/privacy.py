"""What auth_service holds about a user, as files of their data export (issue #19; the
export worker, ops/export_worker.py, calls `export_entries`): the account as the identity
provider gave it, its sign-in and sign-out events, and the user's exports. Sessions live in
Redis under a hash of their id and expire by themselves; they are not exported."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from auth_service.exports import jobs
from auth_service.tables import event_tables, users
from runtime.archive import ArchiveEntry, json_entry, rows_as_dicts, stream_histories


async def export_entries(engine: AsyncEngine, user_id: str) -> list[ArchiveEntry]:
    async with engine.connect() as connection:
        account = rows_as_dicts(await connection.execute(
            select(users).where(users.c.id == user_id)))
        exports = rows_as_dicts(await connection.execute(
            select(jobs).where(jobs.c.owner_id == user_id).order_by(jobs.c.requested_at)))
        histories = await stream_histories(connection, event_tables, [user_id])
    return [
        json_entry("account/user.json", "your account: the identity provider's issuer and "
                   "subject, email, name, picture, first and last sign-in",
                   account[0] if account else None),
        json_entry("account/events.json", "every sign-in (with the profile given then) and "
                   "sign-out", histories[user_id]),
        json_entry("account/exports.json", "your data exports (this one included)", exports),
    ]
