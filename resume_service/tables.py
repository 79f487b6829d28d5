"""The `resume` schema: the event store tables, the `resumes` read model, share links and
their view statistics."""

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from contracts.topology import RESUME_SCHEMA
from runtime.erasure import define_erased_users
from runtime.eventstore import define_event_tables

SCHEMA = RESUME_SCHEMA

metadata = MetaData(schema=SCHEMA)
event_tables = define_event_tables(metadata)

resumes = Table(
    "resumes", metadata,
    Column("id", Text, primary_key=True),
    Column("owner_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("template", Text, nullable=False),
    Column("document", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True), nullable=True),
    Index("ix_resumes_owner_updated", "owner_id", "updated_at"),
)

# Share links: the state a public read needs, the password hash included (never in an event).
# Written with ShareCreated in one transaction; `revoked_at` by ShareRevoked's append.
shares = Table(
    "shares", metadata,
    Column("id", Text, primary_key=True),
    Column("resume_id", Text, nullable=False, index=True),
    Column("owner_id", Text, nullable=False),
    Column("slug", Text, nullable=False, unique=True),
    Column("version", Integer, nullable=True),
    Column("template", Text, nullable=False),
    Column("options", JSONB, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("password_hash", Text, nullable=True),
    Column("hidden", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# The statistics read model: one row per ShareViewed (its log position), rebuildable.
share_views = Table(
    "share_views", metadata,
    Column("position", BigInteger, primary_key=True),
    Column("share_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("viewer", Text, nullable=False),
    Column("bot", Boolean, nullable=False),
    Column("viewed_at", DateTime(timezone=True), nullable=False),
    Index("ix_share_views_share", "share_id", "viewed_at"),
)

# users whose events its consumers drop (runtime.erasure)
erased_users = define_erased_users(metadata)
