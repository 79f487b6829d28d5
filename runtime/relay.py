"""Run one service's outbox relay as its own process: ``python -m runtime.relay resume_service``.

A service runs its relay inside its HTTP process unless RELAY_IN_PROCESS=false; the local
stack (Procfile) runs relays as separate processes so that publishing never takes CPU from
request handling. Only one relay per schema is active at a time (advisory lock), so running
both is safe. With METRICS_PORT set, it serves its metrics (events published, outbox backlog
and age) at http://HOST:METRICS_PORT/metrics; it logs like every service (runtime.logs)."""

import asyncio
import contextlib
import importlib
import sys

from prometheus_client import start_http_server

from runtime.bus import make_broker
from runtime.context import set_process_service
from runtime.db import asyncpg_dsn
from runtime.eventstore import EventTables
from runtime.lifecycle import run_bus
from runtime.logs import setup_logging
from runtime.metrics import service_metrics
from runtime.settings import ServiceSettings


async def main(service: str) -> None:
    tables: EventTables = importlib.import_module(f"{service}.tables").event_tables
    settings = ServiceSettings()
    set_process_service(service)
    setup_logging(settings.log_format, settings.log_level)
    if settings.metrics_enabled and settings.metrics_port:
        start_http_server(settings.metrics_port, registry=service_metrics(service).registry)
    broker = make_broker(settings.amqp_url)
    try:
        await run_bus(broker, consumers=[], relay_dsn=asyncpg_dsn(settings.database_url),
                      tables=tables, poll_seconds=settings.relay_poll_seconds)
    finally:
        await broker.stop()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(sys.argv[1]))
