"""Starting a service's bus side: connect the broker (waiting for it if it is down), declare
the consumers' topology, then run the outbox relay until cancelled. HTTP keeps serving while
the broker is away; the outbox holds the events until it is back."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Coroutine, Sequence

import uvloop
from faststream.rabbit import RabbitBroker

from runtime.bus import Consumer, declare_topology
from runtime.eventstore import EventTables
from runtime.outbox import OutboxRelay
from runtime.settings import ServiceSettings

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
    await declare_topology(broker)
    for consumer in consumers:
        await consumer.declare_rest(broker)


async def run_bus(broker: RabbitBroker, consumers: Sequence[Consumer], relay_dsn: str | None,
                  tables: EventTables | None, poll_seconds: float = 1.0) -> None:
    """Runs until cancelled: the consumers work on the broker's own tasks, the relay here."""
    await start_broker(broker, consumers)
    if relay_dsn and tables is not None:
        await OutboxRelay(relay_dsn, tables, broker, poll_seconds).run_forever()
    await asyncio.Event().wait()


def run_process(work: Coroutine[object, object, None]) -> None:
    """The entry point of a process without HTTP (relay, worker): its main coroutine on uvloop,
    the loop uvicorn gives the HTTP processes, until it ends or is signalled."""
    uvloop.run(run_until_signalled(work))


async def run_until_signalled(work: Coroutine[object, object, None]) -> None:
    """Run a process's main coroutine until it ends or SIGTERM/SIGINT cancels it, so its
    `finally` blocks (closing the broker, the database) run on a normal stop."""
    task = asyncio.create_task(work)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


@contextlib.asynccontextmanager
async def bus_running(broker: RabbitBroker, consumers: Sequence[Consumer],
                      settings: ServiceSettings, tables: EventTables,
                      *loops: Coroutine[object, object, None]) -> AsyncIterator[None]:
    """For the span of an app's lifespan: its bus side (consumers, and the outbox relay unless
    RELAY_IN_PROCESS=false) plus any other background loops; all stopped, and the broker
    closed, at the end."""
    tasks = [asyncio.create_task(run_bus(broker, consumers, settings.relay_dsn(), tables,
                                         settings.relay_poll_seconds)),
             *(asyncio.create_task(loop) for loop in loops)]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await stop_broker(broker)


async def stop_broker(broker: RabbitBroker) -> None:
    """Close the broker at the end of an app or process, without letting a broker that is slow
    to answer (a subscriber's cancel timing out) turn a clean stop into a crash: nothing is
    lost, since unacknowledged deliveries return to their queues when the connection closes,
    which FastStream skips when a subscriber fails to stop, so it is closed here."""
    try:
        await broker.stop()
    except Exception as exc:  # an ExceptionGroup of the subscribers that failed to stop
        log.warning("the broker did not stop cleanly: %r", exc)
        connection = getattr(broker, "_connection", None)
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()
