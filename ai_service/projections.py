"""Read models of ai_service, both rebuildable from event stores:

- `ai.jobs`: one row per rating job (runtime.jobs.JobRecords), written in the same
  transaction as the job's events; its reuse index makes "one queued, running or succeeded
  job per owner and model input" race-free.
- `ai.resume_versions`: the resume replica (runtime.replica), fed by resume events.
"""

from ai_service.domain import RATING_JOB
from ai_service.tables import SCHEMA, jobs, resume_replica
from contracts.topology import RESUME_SCHEMA
from runtime.jobs import JobRecords
from runtime.replica import replica_projection

job_records = JobRecords(jobs, RATING_JOB)

PROJECTIONS = [
    job_records.projection("ai.jobs", SCHEMA),
    replica_projection("ai.resume_versions", RESUME_SCHEMA, resume_replica),
]
