"""Starting a service's bus side: connect the broker (waiting for it if it is down), declare
the consumers' topology, then run the outbox relay until cancelled. HTTP keeps serving while
the broker is away; the outbox holds the events until it is back."""

import asyncio
import logging
from collections.abc import Sequence

from faststream.rabbit import RabbitBroker

from runtime.bus import DEAD_LETTERS, EVENTS, Consumer
from runtime.eventstore import EventTables
from runtime.outbox import OutboxRelay

log = logging.getLogger(__name__)


async def start_broker(broker: RabbitBroker, consumers: Sequence[Consumer],
                       retry_seconds: float = 1.0) -> None:
    for consumer in consumers:
        consumer.register(broker)
    while True:
        try:
            await broker.start()
            break
        except Exception as exc:
            log.warning("cannot reach RabbitMQ (%r); retrying in %.0fs", exc, retry_seconds)
            await asyncio.sleep(retry_seconds)
    await broker.declare_exchange(EVENTS)
    await broker.declare_exchange(DEAD_LETTERS)
    for consumer in consumers:
        await consumer.declare_rest(broker)


async def run_bus(broker: RabbitBroker, consumers: Sequence[Consumer], relay_dsn: str | None,
                  tables: EventTables | None, poll_seconds: float = 1.0) -> None:
    """Runs until cancelled: the consumers work on the broker's own tasks, the relay here."""
    await start_broker(broker, consumers)
    if relay_dsn and tables is not None:
        await OutboxRelay(relay_dsn, tables, broker, poll_seconds).run_forever()
    await asyncio.Event().wait()
