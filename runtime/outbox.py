"""The outbox relay: publishes committed events to RabbitMQ, in log order, with confirms.

Exactly one relay per schema is active at a time: it holds a session-level advisory lock on
its own connection, and the others wait for it. The relay wakes on NOTIFY from the append
transaction, and polls as a fallback.

It publishes a batch (up to BATCH_SIZE outbox rows, in log order) pipelined: the messages of a
wave go out on the channel one after the other, in log order, without waiting for each
confirm, and then the relay awaits their confirms. A wave is the longest run of the batch's
rows in which no stream appears twice; a stream's next event starts the next wave, which is
sent only once every message of this one is confirmed. What is guaranteed:

- a row leaves the outbox only after the broker confirmed its message, and only with every
  row before it (the confirmed prefix: rows up to the first one not confirmed); on any failure
  (a nack, a timeout, the connection lost) the relay deletes that prefix and starts again from
  the first unconfirmed row, so nothing is lost;
- an event is sent only after every earlier event of its stream was confirmed, so a stream's
  events never reach a queue out of order for their first delivery, whatever failed;
- messages after a failed one in its wave may have been confirmed too: they are sent again,
  as is a message whose confirm was lost (duplicates; consumers are idempotent).

The statement that deletes a confirmed batch also fetches the next one, so a relay that keeps
up with a steady stream of commits makes one round trip per batch.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
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
    _published: dict[str, Any] = field(default_factory=dict)  # event type -> its counter
    # the next batch, fetched by the statement that deleted the last one (None: look again)
    _next: list[asyncpg.Record] | None = None

    def __post_init__(self) -> None:
        self._fetch_sql = self._batch_sql(after_deleting=False)
        self._forget_and_fetch_sql = self._batch_sql(after_deleting=True)

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
            self._next = None
            while True:
                await self._measure(conn)
                await self.publish_pending(conn)
                if self._next is None:
                    # the outbox was empty as of the last look; whatever committed since has
                    # set the wake event (cleared before the next look)
                    self._gauge_empty()
                    await self._vacuum_if_due(conn)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.poll_seconds):
                            await self._wake.wait()
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

    def _gauge_empty(self) -> None:
        """The last look found the outbox empty: the gauges say so at once (no query), rather
        than showing what was waiting before the last publish until the next measure."""
        self.metrics.outbox_backlog.set(0)
        self.metrics.outbox_oldest_age.set(0)

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

    def _batch_sql(self, after_deleting: bool) -> str:
        """The next batch: outbox rows in log order with their events. Each outbox row fetches
        its event by primary key (the LIMIT 1 keeps the planner from turning this into a merge
        join that walks the log from its start every time). `after_deleting`: first delete
        the confirmed rows ($1); the select still sees them (one snapshot), so it starts after
        the last of them ($2), positions being committed in log order (the append lock)."""
        schema = self.tables.schema
        delete, after = "", ""
        if after_deleting:
            delete = (f"WITH gone AS (DELETE FROM {schema}.outbox "
                      f"WHERE global_position = ANY($1::bigint[])) ")
            after = "WHERE global_position > $2 "
        return (f"{delete}SELECT e.*, o.routing_key FROM (SELECT global_position, routing_key "
                f"FROM {schema}.outbox {after}ORDER BY global_position LIMIT {BATCH_SIZE}) o "
                f"CROSS JOIN LATERAL (SELECT * FROM {schema}.events "
                f"WHERE global_position = o.global_position LIMIT 1) e "
                f"ORDER BY o.global_position")

    async def publish_pending(self, conn: asyncpg.Connection) -> int:
        """Publish one batch in log order; return how many rows left the outbox (the
        confirmed prefix). Raises, after deleting that prefix, when a message failed. When
        all were confirmed, the statement that deletes them also fetches the next batch."""
        rows, self._next = self._next, None
        if rows is None:
            rows = await conn.fetch(self._fetch_sql)
        confirmed = 0
        try:
            for wave in waves(rows):
                for row, error in zip(wave, await self._publish_wave(wave), strict=True):
                    if error is not None:
                        raise PublishFailed(f"event at position {row['global_position']} of "
                                            f"{self.tables.schema}: {error!r}") from error
                    confirmed += 1
        except BaseException:
            if confirmed:
                await conn.execute(
                    f"DELETE FROM {self.tables.schema}.outbox "
                    f"WHERE global_position = ANY($1::bigint[])",
                    [row["global_position"] for row in rows[:confirmed]])
                self._count(rows[:confirmed])
            raise
        if rows:
            self._next = await conn.fetch(self._forget_and_fetch_sql,
                                          [row["global_position"] for row in rows],
                                          rows[-1]["global_position"]) or None
            self._count(rows)
        return confirmed

    async def _publish_wave(self, wave: list[asyncpg.Record]) -> list[BaseException | None]:
        """Send every message of the wave, then wait for all their confirms; what failed, by
        row (None: confirmed). FastStream's `broker.publish` returns once the broker confirmed
        (aio-pika awaits aiormq's confirmation future, and raises on a nack), so the pipeline
        is the wave's publishes awaited together. They go out in log order: these tasks start
        in that order, and the first place a publish waits is aiormq's channel lock (FIFO),
        under which it writes its message. Each stream's order does not depend on it: a wave
        holds one event per stream."""
        if len(wave) == 1:  # the usual case when the relay keeps up: no task to make
            try:
                await self._publish(wave[0])
            except Exception as exc:
                return [exc]
            return [None]
        results = await asyncio.gather(*(self._publish(row) for row in wave),
                                       return_exceptions=True)
        # a CancelledError among them is a publish the channel cancelled (the relay's own
        # cancellation is raised by gather itself): a failure like any other
        return [result if isinstance(result, BaseException) else None for result in results]

    def _count(self, rows: list[asyncpg.Record]) -> None:
        """Rows deleted from the outbox, their messages confirmed."""
        self.published_total += len(rows)
        self._deleted_since_vacuum += len(rows)
        for row in rows:
            counter = self._published.get(row["event_type"])
            if counter is None:  # labels() is slow: once per event type
                counter = self._published[row["event_type"]] = (
                    self.metrics.events_published.labels(row["event_type"]))
            counter.inc()

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


class PublishFailed(Exception):
    """The broker did not confirm an event's message (nack, timeout, connection lost)."""


def waves(rows: list[asyncpg.Record]) -> Iterator[list[asyncpg.Record]]:
    """The rows, in order, cut before each row whose stream already has a row in the run."""
    wave: list[asyncpg.Record] = []
    streams: set[str] = set()
    for row in rows:
        if row["stream_id"] in streams:
            yield wave
            wave, streams = [], set()
        wave.append(row)
        streams.add(row["stream_id"])
    if wave:
        yield wave


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
