"""What ai_service hands over to the operator tooling (runtime.registry, ops.services)."""

from pathlib import Path

from ai_service.domain import IMPORT_JOB, RATING_JOB
from ai_service.projections import PROJECTIONS
from ai_service.tables import event_tables
from runtime.jobs import job_stream_view
from runtime.registry import ServiceRegistration

REGISTRATION = ServiceRegistration(
    name="ai_service", event_tables=event_tables, projections=PROJECTIONS,
    migrations=Path(__file__).parent / "migrations",
    stream_view=job_stream_view(RATING_JOB, IMPORT_JOB))
