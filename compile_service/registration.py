"""What compile_service hands over to the operator tooling (runtime.registry, ops.services)."""

from pathlib import Path

from compile_service.domain import COMPILE_JOB
from compile_service.projections import PROJECTIONS
from compile_service.tables import event_tables
from runtime.jobs import job_stream_view
from runtime.registry import ServiceRegistration

REGISTRATION = ServiceRegistration(
    name="compile_service", event_tables=event_tables, projections=PROJECTIONS,
    migrations=Path(__file__).parent / "migrations", stream_view=job_stream_view(COMPILE_JOB))
