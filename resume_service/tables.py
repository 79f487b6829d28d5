"""The `resume` schema: the event store tables and the `resumes` read model."""

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from contracts.topology import RESUME_SCHEMA
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
