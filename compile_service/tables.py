"""The `compile` schema: the job event store, the `jobs` read model and the resume replica."""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)

from runtime.eventstore import define_event_tables
from runtime.replica import define_resume_replica

SCHEMA = "compile"
ACTIVE = ("queued", "running")

metadata = MetaData(schema=SCHEMA)
event_tables = define_event_tables(metadata)
resume_replica = define_resume_replica(metadata)

jobs = Table(
    "jobs", metadata,
    Column("job_id", Text, primary_key=True),
    Column("stream_version", Integer, nullable=False),
    Column("owner_id", Text, nullable=False),
    Column("resume_id", Text, nullable=False),
    Column("resume_version", Integer, nullable=False),
    Column("template", Text, nullable=False),
    Column("engine", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("artifact_key", Text, nullable=True),
    Column("cached", Boolean, nullable=False, server_default=text("false")),
    Column("engine_ms", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    # at most one queued-or-running job per (resume, version, template)
    Index("ux_jobs_active", "resume_id", "resume_version", "template", unique=True,
          postgresql_where=text("status IN ('queued', 'running')")),
    Index("ix_jobs_owner", "owner_id", "requested_at"),
)
