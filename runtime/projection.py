"""What the operator tooling needs to know about a read model to rebuild it.

Each service hands its projections over in its registration (runtime.registry); the CLI
(ops.cli) empties a projection with `reset` and feeds it every stored event of
`source_schema` whose type is in `event_types`, in log order, through `apply`. A projection
may also give `apply_batch`, which must leave the read model exactly as applying the same
events one by one would; rebuilds use it to write many events in a few statements.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import EventEnvelope

ApplyOne = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]
ApplyMany = Callable[[AsyncSession, Sequence[EventEnvelope]], Awaitable[None]]


@dataclass(frozen=True)
class Projection:
    name: str
    source_schema: str
    event_types: frozenset[str]
    reset: Callable[[AsyncSession], Awaitable[None]]
    apply: ApplyOne
    apply_batch: ApplyMany | None = None

    async def apply_all(self, session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
        """Apply events in log order, in one batch when the projection supports it."""
        if self.apply_batch is not None:
            await self.apply_batch(session, envelopes)
            return
        for envelope in envelopes:
            await self.apply(session, envelope)
