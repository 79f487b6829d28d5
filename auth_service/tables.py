"""The `auth` schema: the event store tables and the `users` read model."""

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, UniqueConstraint

from contracts.topology import AUTH_SCHEMA
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
