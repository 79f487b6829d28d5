"""The `compile` schema: the job event store, the `jobs` read model (runtime.jobs), the
resume replica and the artifact store's tables (compile_service.artifacts.PostgresStore)."""

from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from contracts.topology import COMPILE_SCHEMA
from runtime.erasure import define_erased_users
from runtime.eventstore import define_event_tables
from runtime.jobs import define_job_table
from runtime.replica import define_resume_replica

SCHEMA = COMPILE_SCHEMA

metadata = MetaData(schema=SCHEMA)
event_tables = define_event_tables(metadata)
resume_replica = define_resume_replica(metadata)
jobs = define_job_table(metadata)
erased_users = define_erased_users(metadata)

# One row per content key: figures first (put before the PDF), then `size` and `chunk_count`
# once the PDF's chunks are in; `preview`, page 1's PNG, once asked for.
artifacts = Table(
    "artifacts", metadata,
    Column("key", Text, primary_key=True),
    Column("size", BigInteger),
    Column("chunk_count", Integer),
    Column("figures", JSONB),
    Column("preview", LargeBinary),
    Column("stored_at", DateTime(timezone=True)),
)
artifact_chunks = Table(
    "artifact_chunks", metadata,
    Column("key", Text, primary_key=True),  # references artifacts.key (the migration's)
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)
