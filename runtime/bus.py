"""Bus topology in one place, and the consumer helper every service uses.

Each consumer gets one durable quorum queue bound to the events exchange. A handler that
raises is retried with a short backoff; on its last attempt the message is copied to the
consumer's dead-letter queue with the error in its headers, then acknowledged, so the rest of
the queue keeps flowing. The queue's `x-delivery-limit` is a backstop for a consumer that dies
while handling a message: the broker itself dead-letters it once the limit is spent.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from faststream.middlewares import AckPolicy
from faststream.rabbit import (
    Channel,
    ExchangeType,
    QueueType,
    RabbitBroker,
    RabbitExchange,
    RabbitQueue,
)
from faststream.rabbit.annotations import RabbitMessage
from faststream.rabbit.subscriber import RabbitSubscriber
from pydantic import ValidationError

from contracts.envelope import EventEnvelope
from contracts.topology import (
    CONSUMERS,
    DEAD_LETTER_EXCHANGE,
    DELIVERY_LIMIT,
    EVENTS_EXCHANGE,
    dead_letter_queue,
)
from runtime.logs import event_context
from runtime.metrics import ServiceMetrics, service_metrics

log = logging.getLogger(__name__)

EventHandler = Callable[[EventEnvelope], Awaitable[None]]

EVENTS = RabbitExchange(EVENTS_EXCHANGE, type=ExchangeType.TOPIC, durable=True)
DEAD_LETTERS = RabbitExchange(DEAD_LETTER_EXCHANGE, type=ExchangeType.DIRECT, durable=True)


def make_broker(amqp_url: str) -> RabbitBroker:
    # apply_types=False: no FastDepends call model per message; every handler here is a
    # Consumer's, which takes the message itself and parses its envelope once
    return RabbitBroker(amqp_url, logger=None, graceful_timeout=10.0, apply_types=False)


def consumer_queue(name: str, binding_key: str) -> RabbitQueue:
    return RabbitQueue(
        name, queue_type=QueueType.QUORUM, routing_key=binding_key,
        arguments={
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": dead_letter_queue(name),
            "x-delivery-limit": DELIVERY_LIMIT,
        },
    )


def dead_letter_queue_spec(name: str) -> RabbitQueue:
    return RabbitQueue(dead_letter_queue(name), durable=True, routing_key=dead_letter_queue(name))


async def declare_consumer(broker: RabbitBroker, name: str, binding_keys: tuple[str, ...]) -> None:
    """A consumer's queue with all its bindings, and its dead-letter queue (idempotent)."""
    queue = await broker.declare_queue(consumer_queue(name, binding_keys[0]))
    events = await broker.declare_exchange(EVENTS)
    for key in binding_keys:
        await queue.bind(events, routing_key=key)
    dlq = await broker.declare_queue(dead_letter_queue_spec(name))
    await dlq.bind(await broker.declare_exchange(DEAD_LETTERS), routing_key=dead_letter_queue(name))


async def declare_topology(broker: RabbitBroker) -> None:
    """The exchanges and every known consumer's queues, whichever process connects first."""
    await broker.declare_exchange(EVENTS)
    await broker.declare_exchange(DEAD_LETTERS)
    for name, keys in CONSUMERS.items():
        await declare_consumer(broker, name, keys)


async def _message_itself(message: RabbitMessage) -> RabbitMessage:
    """The "decoded body" a handler is given: the message, for its ack and its raw body
    (FastStream's JSON decoding would parse the body a second time, for nothing)."""
    return message


@dataclass
class Consumer:
    """One named consumer: a queue, the routing keys it is bound to, and its handler."""

    name: str
    binding_keys: tuple[str, ...]
    handler: EventHandler
    max_attempts: int = 5
    prefetch: int = 16
    retry_backoff_seconds: float = 0.2
    _broker: RabbitBroker | None = None
    _subscriber: RabbitSubscriber | None = None

    @property
    def service(self) -> str:
        """Consumers are named `<service>.<purpose>`."""
        return self.name.split(".", 1)[0]

    @property
    def metrics(self) -> ServiceMetrics:
        return service_metrics(self.service)

    def register(self, broker: RabbitBroker) -> None:
        self._broker = broker
        queue = consumer_queue(self.name, self.binding_keys[0])
        # a channel of its own (FastStream keys channels by the Channel object): its delivery
        # tags are this consumer's only
        self._subscriber = broker.subscriber(
            queue, EVENTS, ack_policy=AckPolicy.MANUAL,
            channel=Channel(prefetch_count=self.prefetch), title=self.name,
            decoder=_message_itself,
        )
        self._subscriber(self._on_message)

    @property
    def subscribed(self) -> bool:
        """Still taking messages (False once the broker began to stop)."""
        return self._subscriber is not None and self._subscriber.running

    async def declare_rest(self, broker: RabbitBroker) -> None:
        """After broker.start(): the extra bindings and the dead-letter queue."""
        await declare_consumer(broker, self.name, self.binding_keys)

    async def _on_message(self, message: RabbitMessage) -> None:
        await self._consume_one(message)

    async def _consume_one(self, message: RabbitMessage) -> None:
        """Parse the envelope (undecodable: dead-lettered at once) and handle it."""
        try:
            envelope = EventEnvelope.model_validate_json(message.body)
        except ValidationError as exc:
            await self._dead_letter(message, f"undecodable envelope: {exc.errors()[:3]}")
            return
        with event_context(self.service, self.name, envelope.event_type,
                           str(envelope.event_id), envelope.correlation_id):
            await self._handle(message, envelope)

    async def _handle(self, message: RabbitMessage, envelope: EventEnvelope) -> None:
        """Run the handler with the envelope's correlation id in the context (its log lines
        and the events it appends carry it), timed per outcome."""
        started = time.perf_counter()
        try:
            await self._run_handler(envelope)
        except Exception as exc:
            self._observe(envelope.event_type, "failed", time.perf_counter() - started)
            await self._retry_or_dead_letter(message, envelope, exc)
            return
        await message.ack()
        self._observe(envelope.event_type, "handled", time.perf_counter() - started)

    async def _run_handler(self, envelope: EventEnvelope) -> None:
        await self.handler(envelope)

    def _observe(self, event_type: str, outcome: str, seconds: float) -> None:
        self.metrics.consumer_duration.labels(self.name, event_type, outcome).observe(seconds)
        log.info("%s %s %s in %.1f ms", self.name, outcome, event_type, seconds * 1000,
                 extra={"data": {"outcome": outcome, "duration_ms": round(seconds * 1000, 2)}})

    async def _retry_or_dead_letter(
        self, message: RabbitMessage, envelope: EventEnvelope, exc: Exception,
    ) -> None:
        delivered = (message.raw_message.headers or {}).get("x-delivery-count", 0)
        attempt = int(delivered if isinstance(delivered, int) else 0) + 1
        log.warning("consumer %s failed on %s %s (attempt %d/%d): %r", self.name,
                    envelope.event_type, envelope.event_id, attempt, self.max_attempts, exc)
        if attempt >= self.max_attempts:
            await self._dead_letter(message, repr(exc))
            return
        await self._requeue_after(message, self.retry_backoff_seconds * 2 ** (attempt - 1))

    async def _requeue_after(self, message: RabbitMessage, delay: float) -> None:
        """Put the message back to its queue after `delay` (its next delivery is the next
        attempt: quorum queues count deliveries in `x-delivery-count`)."""
        await asyncio.sleep(delay)
        await message.nack(requeue=True)
        self.metrics.consumer_retries.labels(self.name).inc()

    async def _dead_letter(self, message: RabbitMessage, error: str) -> None:
        """Copy the message to the dead-letter queue (confirmed), then ack the original."""
        raw, broker = message.raw_message, self._broker
        assert broker is not None, "register() the consumer before it receives messages"
        headers = dict(raw.headers or {})
        headers.update({"x-error": error[:2000], "x-consumer": self.name,
                        "x-original-routing-key": raw.routing_key or ""})
        await broker.publish(
            raw.body, exchange=DEAD_LETTERS, routing_key=dead_letter_queue(self.name),
            headers=headers, message_id=raw.message_id, correlation_id=raw.correlation_id,
            content_type=raw.content_type, persist=True, timeout=10,
        )
        log.error("consumer %s dead-lettered message %s: %s", self.name, raw.message_id, error)
        await message.ack()
        self.metrics.consumer_dead_lettered.labels(self.name).inc()
