"""Idempotent consumers, two ways.

- `idempotent`: a handler's effects and the record that it processed an event (the schema's
  `processed_events`) commit in one transaction, so a redelivered event changes nothing.
- `BatchConsumer`: for effects that are idempotent by themselves (the resume replicas: one
  row per (resume, version), inserted or left alone), written many messages at a time. The
  FastStream handler only queues the delivery; whichever handler finds no write under way
  writes everything waiting in one call, and goes on while more waits (no linger: a lone
  message goes at once), then acknowledges after the commit, with one `multiple` ack when no
  older delivery of its channel is still unsettled. A batch that fails goes again one message
  at a time under the `Consumer` rules (undecodable: dead-lettered at once; otherwise retried
  with backoff, dead-lettered on the last attempt), so a poison message goes alone and the
  rest pass. While the database is unreachable nothing is counted as an attempt: the write
  is retried in place with a capped backoff, the messages held unacknowledged (on shutdown
  they return to the queue). A handled message's line follows the trace policy (ACCESS_LOG)
  as the per-message lines of runtime.bus do, decided before the record is made: at INFO
  when the policy keeps it, else at DEBUG.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from aio_pika.abc import AbstractIncomingMessage
from aiormq.abc import AbstractChannel
from aiormq.exceptions import ChannelInvalidStateError
from faststream.rabbit.annotations import RabbitMessage
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.envelope import EventEnvelope
from runtime.bus import Consumer, EventHandler
from runtime.http import dependency_of
from runtime.logs import TracePolicy, event_context

log = logging.getLogger(__name__)

Effect = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]


async def claim(session: AsyncSession, processed: Table, consumer: str,
                envelope: EventEnvelope) -> bool:
    """Record that `consumer` processed the event; False when it already had."""
    statement = (insert(processed).values(consumer=consumer, event_id=envelope.event_id)
                 .on_conflict_do_nothing().returning(processed.c.event_id))
    return (await session.execute(statement)).first() is not None


def idempotent(sessions: async_sessionmaker[AsyncSession], processed: Table, consumer: str,
               effect: Effect) -> EventHandler:
    """Wrap `effect` so it runs at most once per event id, in the claiming transaction."""

    async def handle(envelope: EventEnvelope) -> None:
        async with sessions.begin() as session:
            if await claim(session, processed, consumer, envelope):
                await effect(session, envelope)

    return handle


@dataclass(frozen=True)
class Written:
    """What a batch write reports of each message it took, in their order (for the metrics
    and the log lines)."""

    event_type: str
    event_id: str
    correlation_id: str | None


WriteBatch = Callable[[Sequence[bytes]], Awaitable[Sequence[Written]]]
T = TypeVar("T")


def database_unavailable(exc: BaseException) -> bool:
    """PostgreSQL down, restarting or unreachable (refused, lost, not accepting yet)."""
    return dependency_of(exc) == "database"


class Abandoned(BaseException):
    """The consumer stopped while a write waited for the database. A BaseException, like
    CancelledError, so that no handler's `except Exception` takes it for a failure (which
    would spend an attempt): the messages simply stay unacknowledged."""


@dataclass
class BatchConsumer(Consumer):
    """A consumer whose `write_batch` takes the bodies of many messages at once; `handler`
    writes one envelope, for the one-at-a-time path a failed batch falls back to."""

    write_batch: WriteBatch = field(kw_only=True)
    # which handled messages get their INFO line (runtime.logs, ACCESS_LOG); the others one
    # at DEBUG, made only when DEBUG is on
    trace: TracePolicy = field(default_factory=TracePolicy, kw_only=True)
    prefetch: int = 128
    outage_backoff_seconds: float = 0.05
    outage_backoff_max_seconds: float = 5.0
    _waiting: list[RabbitMessage] = field(default_factory=list)
    _unsettled: list[RabbitMessage] = field(default_factory=list)
    _writing: bool = False
    _requeues: set[asyncio.Task[None]] = field(default_factory=set)

    async def _on_message(self, message: RabbitMessage) -> None:
        self._waiting.append(message)
        self._unsettled.append(message)
        if self._writing:
            return  # the handler that is writing takes it next
        self._writing = True
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._take(batch)
        except Abandoned:
            self._waiting.clear()  # unacknowledged: back to the queue as the channel closes
        finally:
            self._writing = False

    async def _take(self, batch: list[RabbitMessage]) -> None:
        batch = [m for m in batch if _channel_of(m) is not None]
        if not batch:
            return
        try:
            await self._write(batch)
        except Exception:
            log.exception("consumer %s: a batch of %d could not be settled; requeued",
                          self.name, len(batch))
            await self._requeue_unsettled(batch)

    async def _write(self, batch: list[RabbitMessage]) -> None:
        started = time.perf_counter()
        try:
            written = await self._while_database_away(
                lambda: self.write_batch([m.body for m in batch]))
        except Exception as exc:
            log.warning("consumer %s: a batch of %d failed (%r); one message at a time",
                        self.name, len(batch), exc)
            for message in batch:
                await self._consume_one(message)
            return
        await self._acknowledge(batch)
        self._observe_batch(written, time.perf_counter() - started)

    async def _while_database_away(self, write: Callable[[], Awaitable[T]]) -> T:
        """`write()`, tried again with a capped backoff for as long as the database is
        unreachable; Abandoned once the consumer stops."""
        delay = self.outage_backoff_seconds
        while True:
            try:
                return await write()
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                log.warning("consumer %s: the database is unavailable (%r); messages held, "
                            "trying again in %.2f s", self.name, exc, delay)
            await self._pause(delay)
            delay = min(delay * 2, self.outage_backoff_max_seconds)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but raise Abandoned as soon as the consumer stops (the broker's graceful
        stop waits for the handlers)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while self.subscribed and (left := until - loop.time()) > 0:
            await asyncio.sleep(min(left, 0.1))
        if not self.subscribed:
            raise Abandoned

    async def _run_handler(self, envelope: EventEnvelope) -> None:
        await self._while_database_away(lambda: self.handler(envelope))

    async def _requeue_after(self, message: RabbitMessage, delay: float) -> None:
        """In a task of its own: the backoff of one message holds up none behind it."""
        task = asyncio.create_task(super()._requeue_after(message, delay))
        self._requeues.add(task)
        task.add_done_callback(self._requeues.discard)

    async def _requeue_unsettled(self, batch: list[RabbitMessage]) -> None:
        for message in batch:
            if not message.raw_message.processed and _channel_of(message) is not None:
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)

    async def _acknowledge(self, batch: list[RabbitMessage]) -> None:
        """One `multiple` ack on the batch's newest delivery when that settles nothing but
        the batch; else one ack each."""
        newest = max(batch, key=_tag)
        channel = _channel_of(newest)
        self._unsettled = [m for m in self._unsettled
                           if not m.raw_message.processed and _channel_of(m) is not None]
        in_batch = {id(m) for m in batch}
        others = [_tag(m) for m in self._unsettled
                  if _channel_of(m) is channel and id(m) not in in_batch]
        alike = all(_channel_of(m) is channel for m in batch)
        self._unsettled = [m for m in self._unsettled if id(m) not in in_batch]
        try:
            if len(batch) > 1 and alike and acks_only_these(_tag(newest), others):
                await newest.raw_message.ack(multiple=True)
            else:
                for message in batch:
                    await message.ack()
        except ChannelInvalidStateError:
            # committed, but the channel closed first: redelivered, and rewritten idempotently
            log.warning("consumer %s: could not acknowledge %d messages (channel closed)",
                        self.name, len(batch))

    def _observe_batch(self, written: Sequence[Written], seconds: float) -> None:
        """Each message counts as handled in the time its batch took."""
        for one in written:
            self.metrics.consumer_duration.labels(self.name, one.event_type,
                                                  "handled").observe(seconds)
        slow = seconds >= self.trace.slow_seconds
        debug = log.isEnabledFor(logging.DEBUG)
        for one in written:
            if self.trace.keeps(one.correlation_id, slow):
                self._line(logging.INFO, one, seconds, len(written))
            elif debug:
                self._line(logging.DEBUG, one, seconds, len(written))

    def _line(self, level: int, one: Written, seconds: float, batch: int) -> None:
        with event_context(self.service, self.name, one.event_type, one.event_id,
                           one.correlation_id):
            log.log(level, "%s handled %s in %.1f ms (batch of %d)", self.name,
                    one.event_type, seconds * 1000, batch,
                    extra={"data": {"outcome": "handled", "batch": batch,
                                    "duration_ms": round(seconds * 1000, 2)}})


def acks_only_these(newest: int, other_unsettled: Iterable[int]) -> bool:
    """Whether `ack(multiple=True)` on delivery tag `newest` leaves every other unsettled
    delivery of the channel alone (none of them is older)."""
    return all(tag > newest for tag in other_unsettled)


def _tag(message: RabbitMessage) -> int:
    return message.raw_message.delivery_tag or 0


def _channel_of(message: RabbitMessage) -> AbstractChannel | None:
    """The AMQP channel the message came on; None once it closed (the broker has put the
    message back by then)."""
    raw: AbstractIncomingMessage = message.raw_message
    with contextlib.suppress(ChannelInvalidStateError):
        return raw.channel
    return None
