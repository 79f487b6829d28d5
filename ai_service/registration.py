"""What ai_service hands over to the operator tooling (runtime.registry, ops.services)."""

from pathlib import Path

from ai_service.projections import PROJECTIONS
from ai_service.tables import event_tables
from runtime.registry import ServiceRegistration

REGISTRATION = ServiceRegistration(
    name="ai_service", event_tables=event_tables, projections=PROJECTIONS,
    migrations=Path(__file__).parent / "migrations")
