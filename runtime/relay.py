"""One service's outbox relay as its own process, started by ``python -m ops.relay SERVICE``.

A service runs its relay inside its HTTP process unless RELAY_IN_PROCESS=false; the local
stack (Procfile) runs relays as separate processes so that publishing never takes CPU from
request handling. Only one relay per schema is active at a time (advisory lock), so running
both is safe. With OPS_PORT set, its ops listener (runtime.ops) serves its metrics (events
published, outbox backlog and age) at http://OPS_HOST:OPS_PORT/metrics and its readiness
(database and broker) at /readyz; it logs like every service (runtime.logs)."""

from runtime.bus import make_broker
from runtime.db import asyncpg_dsn, make_engine
from runtime.lifecycle import run_bus, stop_broker
from runtime.observe import observe_process
from runtime.ops import ops_listener, service_checks
from runtime.registry import ServiceRegistration
from runtime.settings import ServiceSettings


async def main(service: ServiceRegistration) -> None:
    settings = ServiceSettings()
    observe_process(service.name, settings)
    broker = make_broker(settings.amqp_url)
    probed = make_engine(settings.database_url, pool_size=1)  # for /readyz only
    try:
        async with ops_listener(service.name, settings, service_checks(probed, broker)):
            await run_bus(broker, consumers=[], relay_dsn=asyncpg_dsn(settings.database_url),
                          tables=service.event_tables, poll_seconds=settings.relay_poll_seconds)
    finally:
        await stop_broker(broker)
        await probed.dispose()

