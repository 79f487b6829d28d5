"""Read models of ai_service, both rebuildable from event stores:

- `ai.jobs`: one row per rating or import job (runtime.jobs.JobRecords, one per kind),
  written in the same transaction as the job's events; its reuse index makes "one queued,
  running or succeeded job per owner and model input" race-free.
- `ai.resume_versions`: the resume replica (runtime.replica), fed by resume events.
"""

from ai_service.domain import IMPORT_JOB, RATING_JOB
from ai_service.tables import SCHEMA, jobs, resume_replica
from contracts.topology import RESUME_SCHEMA
from runtime.jobs import JobRecords, jobs_projection
from runtime.replica import replica_projection

job_records = JobRecords(jobs, RATING_JOB)
import_records = JobRecords(jobs, IMPORT_JOB)

PROJECTIONS = [
    jobs_projection("ai.jobs", SCHEMA, [job_records, import_records]),
    replica_projection("ai.resume_versions", RESUME_SCHEMA, resume_replica),
]
