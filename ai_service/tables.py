"""The `ai` schema: the rating-job event store, the `ratings` read model and the resume
replica (owner and document by version, fed by resume events)."""

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB

from runtime.eventstore import define_event_tables
from runtime.replica import define_resume_replica

SCHEMA = "ai"
REUSABLE = ("pending", "completed")

metadata = MetaData(schema=SCHEMA)
event_tables = define_event_tables(metadata)
resume_replica = define_resume_replica(metadata)

ratings = Table(
    "ratings", metadata,
    Column("job_id", Text, primary_key=True),
    Column("stream_version", Integer, nullable=False),
    Column("owner_id", Text, nullable=False),
    Column("resume_id", Text, nullable=False),
    Column("resume_version", Integer, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("prompt_version", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("rating", JSONB, nullable=True),
    Column("error_code", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("model_calls", Integer, nullable=False, server_default="0"),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    # "never paid twice": one pending-or-completed job per owner and exact model input
    Index("ux_ratings_reusable", "owner_id", "content_hash", "model", "prompt_version",
          unique=True, postgresql_where=text("status IN ('pending', 'completed')")),
    Index("ix_ratings_resume", "resume_id", "requested_at"),
)
