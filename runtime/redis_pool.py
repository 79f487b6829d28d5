"""The Redis client every service but the gateway uses (the gateway, which faces strangers,
waits its turn for a connection and bounds its round trips itself: gateway.app)."""

from redis.asyncio import ConnectionPool, Redis

# above what a service can be asked at once (the gateway keeps at most 256 connections to
# each), so no burst meets redis-py's default cap of 100 (MaxConnectionsError); a pool that
# waits for a free connection instead costs 10-15 µs more CPU per call, measured here
MAX_CONNECTIONS = 512
# a Redis that accepts and never answers must not hold a request: it fails as a
# TimeoutError, which the services answer 503 (runtime.http) or read around (runtime.cache)
COMMAND_TIMEOUT_SECONDS = 2.0


def make_redis(url: str) -> Redis:
    pool = ConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, socket_timeout=COMMAND_TIMEOUT_SECONDS,
        socket_connect_timeout=COMMAND_TIMEOUT_SECONDS)
    return Redis(connection_pool=pool)
