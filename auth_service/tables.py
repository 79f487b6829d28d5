"""The `auth` schema: the event store tables, the `users` read model and the erasures' record."""

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, UniqueConstraint

from contracts.topology import AUTH_SCHEMA
from runtime.erasure import define_erased_users
from runtime.eventstore import define_event_tables

SCHEMA = AUTH_SCHEMA

metadata = MetaData(schema=SCHEMA)
event_tables = define_event_tables(metadata)

users = Table(
    "users", metadata,
    Column("id", Text, primary_key=True),
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("picture", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_sign_in_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("issuer", "subject"),
)

erased_users = define_erased_users(metadata)

# one row per erasure asked for, and each service's report of it (ErasureCompleted)
erasures = Table(
    "erasures", metadata,
    Column("erasure_id", Text, primary_key=True),
    Column("user_id", Text, nullable=False, index=True),
    Column("requested_at", DateTime(timezone=True), nullable=False),
)
erasure_progress = Table(
    "erasure_progress", metadata,
    Column("erasure_id", Text, primary_key=True),
    Column("service", Text, primary_key=True),
    Column("completed_at", DateTime(timezone=True), nullable=False),
)
