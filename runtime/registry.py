"""What a service hands over to the operator tooling (ops/): its name, its event store, its
projections, its migrations and, optionally, how its streams are shown.

The shared layer never looks a service up: each service defines `REGISTRATION` in its
`registration.py`, `ops.services` lists them, and the generic machinery (the relay in
runtime.relay, the migrations in runtime.migrations, the rebuilds in ops.cli) is given the
registration it works on.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.envelope import EventEnvelope
from runtime.eventstore import EventTables
from runtime.projection import Projection

Describe = Callable[[Sequence[EventEnvelope]], list[str]]
Fold = Callable[[str, Sequence[EventEnvelope]], Any]


@dataclass(frozen=True)
class StreamView:
    """How `rb events show` and `rb state` read the service's streams: one line per event
    saying what it changed, and the state (JSON-ready) after the events given."""

    describe: Describe
    fold: Fold


@dataclass(frozen=True)
class ServiceRegistration:
    name: str  # the process, metrics and log name: `resume_service`
    event_tables: EventTables
    projections: Sequence[Projection]
    migrations: Path  # the Alembic directory (its env.py calls runtime.migrations.run_env)
    stream_view: StreamView | None = None  # None: the CLI's generic view (payloads merged)

    @property
    def schema(self) -> str:
        """The PostgreSQL schema of the service's event store, read models and checkpoints."""
        return self.event_tables.schema
