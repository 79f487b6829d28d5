"""Share links of a resume: made, listed and revoked by its owner; resolved for a public read.

A share is a row of `shares` (the password's Argon2 hash stays there, never in an event) and a
stream of events (ShareCreated, ShareRevoked, ShareViewed) in this service's store, written in
one transaction with the row. A public read resolves the slug to the document it shows: the
pinned version (the last document at or before it), or the latest; unknown, revoked, or a
deleted resume: `ShareGone` (404); past its expiry: `ShareExpired` (410).

The public JSON is cached in the owner's read cache (runtime.cache) under `p2:<slug>`, so
every write of the owner (a save, a delete, an undelete, a share made or revoked) drops it
the way it drops the owner's other reads; a slug's owner never changes, so it is kept here.
"""

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from redis.exceptions import RedisError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.share_events import ShareCreated, ShareEvent, ShareRevoked, hidden_left_out
from resume_service.domain import VersionNotFound
from resume_service.tables import SCHEMA, shares
from resume_service.views import dumps
from runtime.cache import ReadCache
from runtime.eventstore import EventStore, NewEvent, row_to_envelope

SLUG_BYTES = 18  # secrets.token_urlsafe: 24 characters, 144 random bits
KNOWN_SLUGS = 10_000
_HASHER = PasswordHasher()  # argon2id with the library's recommended cost


class ShareGone(Exception):
    """Unknown or revoked share, or its resume deleted: all a 404."""


class ShareExpired(Exception):
    pass


@dataclass(frozen=True)
class NewShare:
    version: int | None
    template: str
    options: dict[str, Any]
    expires_at: datetime | None
    password: str | None
    hidden: list[str]


@dataclass(frozen=True)
class PublicShare:
    """What a public read of a share needs, as cached: the share, and its resume's JSON."""

    share_id: str
    resume_id: str
    owner_id: str
    version: int
    expires_at: float | None  # epoch seconds
    protected: bool
    template: str  # and options and hidden contact fields: what its files are compiled with
    options: dict[str, Any]
    hidden: list[str]
    body: bytes

    def encode(self) -> bytes:
        head = orjson.dumps([self.share_id, self.resume_id, self.owner_id, self.version,
                             self.expires_at, self.protected, self.template, self.options,
                             self.hidden])
        return head + b"\n" + self.body

    @classmethod
    def decode(cls, value: bytes) -> "PublicShare":
        head, body = value.split(b"\n", 1)
        return cls(*orjson.loads(head), body=body)  # type: ignore[misc]


def public_key(slug: str) -> str:
    return f"p2:{slug}"  # p: held PublicShare's older encoding


_DOCUMENT_AT = text(f"""
SELECT * FROM {SCHEMA}.events
WHERE stream_id = :resume_id AND stream_version <= :version AND payload ? 'document'
ORDER BY stream_version DESC LIMIT 1""")

_RESOLVE = text(f"""
SELECT s.id, s.resume_id, s.owner_id, s.version, s.expires_at, s.hidden, s.revoked_at,
       s.template, s.options,
       s.password_hash IS NOT NULL AS protected, r.deleted_at, r.version AS current_version,
       r.document
FROM {SCHEMA}.shares s JOIN {SCHEMA}.resumes r ON r.id = s.resume_id
WHERE s.slug = :slug""")


class ShareService:
    def __init__(self, engine: AsyncEngine, store: EventStore, cache: ReadCache | None) -> None:
        self.engine, self.store, self.cache = engine, store, cache
        self._owners: dict[str, str] = {}  # slug -> owner id (never changes)

    async def create(self, owner_id: str, resume_id: str, current_version: int,
                     new: NewShare, now: datetime) -> dict[str, Any]:
        if new.version is not None and new.version > current_version:
            raise VersionNotFound(new.version)
        password_hash = (await asyncio.to_thread(_HASHER.hash, new.password)
                         if new.password else None)
        share_id, slug = str(uuid4()), secrets.token_urlsafe(SLUG_BYTES)
        event = ShareCreated(share_id=share_id, resume_id=resume_id, owner_id=owner_id,
                             slug=slug, version=new.version, template=new.template,
                             options=new.options, expires_at=new.expires_at,
                             protected=password_hash is not None, hidden=new.hidden)
        row = {"id": share_id, "resume_id": resume_id, "owner_id": owner_id, "slug": slug,
               "version": new.version, "template": new.template, "options": new.options,
               "expires_at": new.expires_at, "password_hash": password_hash,
               "hidden": new.hidden, "created_at": now, "revoked_at": None}
        async with self.engine.begin() as connection:
            await connection.execute(shares.insert().values(**row))
            await self._append(connection, share_id, 0, event)
        return row

    async def listed(self, resume_id: str) -> list[Any]:
        async with self.engine.connect() as connection:
            result = await connection.execute(
                select(shares).where(shares.c.resume_id == resume_id)
                .order_by(shares.c.created_at.desc()))
            return list(result.all())

    async def revoke(self, owner_id: str, resume_id: str, share_id: str) -> None:
        """Revoke a live share of the owner's resume (ShareGone otherwise); the public cache
        of the owner is dropped before this returns."""
        async with self.engine.begin() as connection:
            revoked = await connection.execute(
                shares.update().where(shares.c.id == share_id,
                                      shares.c.resume_id == resume_id,
                                      shares.c.owner_id == owner_id,
                                      shares.c.revoked_at.is_(None))
                .values(revoked_at=text("now()")).returning(shares.c.id))
            if revoked.first() is None:
                raise ShareGone(share_id)
            # views append to the same stream: hold the append lock from before the read
            await self.store.lock_appends(connection)
            version = await self.store.stream_version(connection, share_id)
            await self._append(connection, share_id, version, ShareRevoked(
                share_id=share_id, resume_id=resume_id, owner_id=owner_id))
        await self.drop_cache(owner_id)

    async def _append(self, connection: AsyncConnection, share_id: str, version: int,
                      event: ShareEvent) -> None:
        await self.store.append(connection, share_id, version, [
            NewEvent(event.event_type, event.model_dump(mode="json"), event.schema_version)],
            user_id=event.owner_id, known_version=True)

    async def drop_cache(self, owner_id: str) -> None:
        if self.cache is not None:
            try:
                await self.cache.invalidate(owner_id)
            except RedisError:
                pass  # entries expire by TTL; the next write drops them too

    async def resolve(self, slug: str, now: float) -> PublicShare:
        """The share of `slug` and its resume's public JSON, from the cache when it holds it."""
        owner = self._owners.get(slug)
        cached = await self._cached(owner, slug) if owner else None
        if cached is not None and cached[1] is not None:
            share = PublicShare.decode(cached[1])
        else:
            share = await self._load(slug)
            self._remember(slug, share.owner_id)
            if cached is not None and self.cache is not None:
                await self._put(share.owner_id, cached[0], slug, share)
        if share.expires_at is not None and share.expires_at <= now:
            raise ShareExpired(slug)
        return share

    async def cached(self, slug: str) -> PublicShare | None:
        """The share of `slug` if the cache holds it (None: ask `resolve`)."""
        owner = self._owners.get(slug)
        cached = await self._cached(owner, slug) if owner else None
        return PublicShare.decode(cached[1]) if cached and cached[1] is not None else None

    async def password_hash(self, share_id: str) -> str | None:
        async with self.engine.connect() as connection:
            result = await connection.execute(
                select(shares.c.password_hash).where(shares.c.id == share_id))
            return result.scalar_one_or_none()

    async def _load(self, slug: str) -> PublicShare:
        async with self.engine.connect() as connection:
            row = (await connection.execute(_RESOLVE, {"slug": slug})).first()
            if row is None or row.revoked_at is not None or row.deleted_at is not None:
                raise ShareGone(slug)
            version, document = row.current_version, row.document
            if row.version is not None:
                version = row.version
                event = (await connection.execute(_DOCUMENT_AT, {
                    "resume_id": row.resume_id, "version": version})).first()
                document = row_to_envelope(event).payload["document"]
        body = dumps({**hidden_left_out(document, row.hidden), "version": version})
        return PublicShare(row.id, row.resume_id, row.owner_id, version,
                           row.expires_at.timestamp() if row.expires_at else None,
                           row.protected, row.template, row.options, row.hidden, body)

    async def _cached(self, owner: str, slug: str) -> tuple[str, bytes | None] | None:
        if self.cache is None:
            return None
        try:
            read = await self.cache.get(owner, public_key(slug))
        except RedisError:
            return None
        return read.generation, read.value

    async def _put(self, owner: str, generation: str, slug: str, share: PublicShare) -> None:
        assert self.cache is not None
        try:
            await self.cache.put(owner, generation, public_key(slug), share.encode())
        except RedisError:
            pass

    def _remember(self, slug: str, owner: str) -> None:
        if len(self._owners) >= KNOWN_SLUGS:
            del self._owners[next(iter(self._owners))]
        self._owners[slug] = owner


async def password_matches(password_hash: str | None, password: str) -> bool:
    """Argon2 verification, off the event loop (it is slow on purpose)."""
    if password_hash is None:
        return False
    try:
        return await asyncio.to_thread(_HASHER.verify, password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False

