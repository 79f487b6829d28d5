"""The `ai` schema: the rating-job event store, the `jobs` read model (runtime.jobs) and the
resume replica (owner and document by version, fed by resume events)."""

from sqlalchemy import MetaData

from contracts.topology import AI_SCHEMA
from runtime.erasure import define_erased_users
from runtime.eventstore import define_event_tables
from runtime.jobs import define_job_table
from runtime.replica import define_resume_replica

SCHEMA = AI_SCHEMA

metadata = MetaData(schema=SCHEMA)
event_tables = define_event_tables(metadata)
resume_replica = define_resume_replica(metadata)
jobs = define_job_table(metadata)
erased_users = define_erased_users(metadata)
