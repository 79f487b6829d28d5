"""What the operator tooling needs to know about a read model to rebuild it.

Each service's `projections.py` exposes `PROJECTIONS: list[Projection]`; the CLI empties a
projection with `reset` and feeds it every stored event of `source_schema` whose type is in
`event_types`, in log order, through `apply`.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import EventEnvelope


@dataclass(frozen=True)
class Projection:
    name: str
    source_schema: str
    event_types: frozenset[str]
    reset: Callable[[AsyncSession], Awaitable[None]]
    apply: Callable[[AsyncSession, EventEnvelope], Awaitable[None]]
