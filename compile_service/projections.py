"""Read models of compile_service, both rebuildable from event stores:

- `compile.jobs`: one row per job (runtime.jobs.JobRecords), written in the same transaction
  as the job's events, so a status read right after a write sees it.
- `compile.resume_versions`: the resume replica (runtime.replica), fed from resume events.
"""

from compile_service.domain import COMPILE_JOB
from compile_service.tables import SCHEMA, jobs, resume_replica
from contracts.topology import RESUME_SCHEMA
from runtime.jobs import JobRecords
from runtime.replica import replica_projection

job_records = JobRecords(jobs, COMPILE_JOB)

PROJECTIONS = [
    job_records.projection("compile.jobs", SCHEMA),
    replica_projection("compile.resume_versions", RESUME_SCHEMA, resume_replica),
]
