"""The outbox relay: publishes committed events to RabbitMQ, in log order, with confirms.

Exactly one relay per schema is active at a time: it holds a session-level advisory lock on
its own connection, and the others wait for it. The relay wakes on NOTIFY from the append
transaction, and polls as a fallback. A row leaves the outbox only after the broker confirmed
its message; on any broker failure it stops at that row and starts again from it, so a stream's
events never leave out of order (a message whose confirm was lost may be sent twice; consumers
are idempotent).
"""

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from faststream.rabbit import RabbitBroker

from runtime.bus import EVENTS
from runtime.eventstore import EventTables, outbox_channel, schema_lock_key
from runtime.metrics import ServiceMetrics, service_metrics, service_of_schema

log = logging.getLogger(__name__)

BATCH_SIZE = 500
MEASURE_EVERY_SECONDS = 1.0  # how often the backlog gauges are refreshed (one small query)
VACUUM_AFTER_ROWS, VACUUM_EVERY_SECONDS = 1000, 10.0


def envelope_bytes(envelope) -> bytes:  # type: ignore[no-untyped-def]
    return orjson.dumps(envelope.model_dump(mode="json"))


@dataclass
class OutboxRelay:
    dsn: str
    tables: EventTables
    broker: RabbitBroker
    poll_seconds: float = 1.0
    publish_timeout: float = 10.0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    published_total: int = 0
    _measured_at: float = 0.0
    _vacuumed_at: float = 0.0
    _deleted_since_vacuum: int = 0

    @property
    def metrics(self) -> ServiceMetrics:
        return service_metrics(service_of_schema(self.tables.schema))

    async def run_forever(self) -> None:
        while True:
            try:
                await self._run_as_leader()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay for %s: %r; retrying", self.tables.schema, exc)
                await asyncio.sleep(self.poll_seconds)

    async def _run_as_leader(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await self._become_leader(conn)
            await conn.add_listener(outbox_channel(self.tables.schema), self._on_notify)
            while True:
                await self._measure(conn)
                # a batch that was not full emptied the outbox as of its fetch; whatever
                # committed since has set the wake event (cleared before each fetch)
                if await self.publish_pending(conn) < BATCH_SIZE:
                    await self._vacuum_if_due(conn)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                    self._wake.clear()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.close(timeout=2))

    async def _become_leader(self, conn: asyncpg.Connection) -> None:
        key = schema_lock_key(self.tables.schema, "relay")
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
            await asyncio.sleep(self.poll_seconds)
        log.info("outbox relay for %s is the leader", self.tables.schema)

    async def _measure(self, conn: asyncpg.Connection) -> None:
        """Backlog and oldest unpublished age, at most once a second; measured before each
        publish, so they keep growing while the broker is away."""
        now = time.monotonic()
        if now - self._measured_at < MEASURE_EVERY_SECONDS:
            return
        self._measured_at = now
        schema = self.tables.schema
        # the oldest unpublished event is the one at the lowest position: one index lookup,
        # not a join over the whole log
        row = await conn.fetchrow(
            f"SELECT (SELECT count(*) FROM {schema}.outbox) AS backlog, "
            f"coalesce(extract(epoch FROM now() - (SELECT recorded_at FROM {schema}.events "
            f"WHERE global_position = (SELECT min(global_position) FROM {schema}.outbox))), 0) "
            f"AS age")
        self.metrics.outbox_backlog.set(row["backlog"])
        self.metrics.outbox_oldest_age.set(float(row["age"]))

    async def _vacuum_if_due(self, conn: asyncpg.Connection) -> None:
        """Every row of the outbox is inserted once and deleted once; the dead rows must not
        pile up where autovacuum is off or slow (each relay query would wade through them).
        The outbox is tiny once vacuumed, so this costs a few milliseconds, while idle."""
        now = time.monotonic()
        if (self._deleted_since_vacuum < VACUUM_AFTER_ROWS
                or now - self._vacuumed_at < VACUUM_EVERY_SECONDS):
            return
        await conn.execute(f"VACUUM (ANALYZE) {self.tables.schema}.outbox")
        self._vacuumed_at, self._deleted_since_vacuum = now, 0

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def publish_pending(self, conn: asyncpg.Connection) -> int:
        """Publish one batch in log order; return how many left the outbox."""
        schema = self.tables.schema
        # Each outbox row fetches its event by primary key (the LIMIT 1 keeps the planner
        # from turning this into a merge join that walks the log from its start every time).
        rows = await conn.fetch(
            f"SELECT e.*, o.routing_key FROM (SELECT global_position, routing_key "
            f"FROM {schema}.outbox ORDER BY global_position LIMIT {BATCH_SIZE}) o "
            f"CROSS JOIN LATERAL (SELECT * FROM {schema}.events "
            f"WHERE global_position = o.global_position LIMIT 1) e "
            f"ORDER BY o.global_position")
        confirmed: list[int] = []
        try:
            for row in rows:
                await self._publish(row)
                confirmed.append(row["global_position"])
        finally:
            if confirmed:
                await conn.execute(
                    f"DELETE FROM {schema}.outbox WHERE global_position = ANY($1::bigint[])",
                    confirmed)
                self.published_total += len(confirmed)
                self._deleted_since_vacuum += len(confirmed)
                published = self.metrics.events_published
                for row in rows[:len(confirmed)]:
                    published.labels(row["event_type"]).inc()
        return len(confirmed)

    async def _publish(self, row: asyncpg.Record) -> None:
        metadata = orjson.loads(row["metadata"])
        await self.broker.publish(
            wire_body(row, metadata), exchange=EVENTS, routing_key=row["routing_key"],
            message_id=str(row["event_id"]), correlation_id=metadata.get("correlation_id"),
            headers={"event_type": row["event_type"]}, content_type="application/json",
            # not mandatory: an event no queue is bound to (yet) is dropped by the exchange
            # rather than sent back; the log keeps it, and replay can deliver it later
            persist=True, mandatory=False, timeout=self.publish_timeout,
        )


def wire_body(row: asyncpg.Record, metadata: dict[str, Any]) -> bytes:
    """The envelope consumers read (contracts.envelope.EventEnvelope), straight from the
    stored row: the payload goes out as stored, never parsed and re-encoded."""
    return orjson.dumps({
        "event_id": str(row["event_id"]), "event_type": row["event_type"],
        "schema_version": row["schema_version"], "stream_id": row["stream_id"],
        "stream_version": row["stream_version"], "global_position": row["global_position"],
        "occurred_at": row["recorded_at"], "user_id": metadata.get("user_id"),
        "correlation_id": metadata.get("correlation_id"),
        "causation_id": metadata.get("causation_id"), "replay": False,
        "payload": orjson.Fragment(row["payload"]),
    })
