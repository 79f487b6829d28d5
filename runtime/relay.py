"""Run one service's outbox relay as its own process: ``python -m runtime.relay resume_service``.

A service runs its relay inside its HTTP process unless RELAY_IN_PROCESS=false; the local
stack (Procfile) runs relays as separate processes so that publishing never takes CPU from
request handling. Only one relay per schema is active at a time (advisory lock), so running
both is safe."""

import asyncio
import contextlib
import importlib
import logging
import sys

from runtime.bus import make_broker
from runtime.db import asyncpg_dsn
from runtime.eventstore import EventTables
from runtime.lifecycle import run_bus
from runtime.settings import ServiceSettings


async def main(service: str) -> None:
    tables: EventTables = importlib.import_module(f"{service}.tables").event_tables
    settings = ServiceSettings()
    broker = make_broker(settings.amqp_url)
    try:
        await run_bus(broker, consumers=[], relay_dsn=asyncpg_dsn(settings.database_url),
                      tables=tables, poll_seconds=settings.relay_poll_seconds)
    finally:
        await broker.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(sys.argv[1]))
