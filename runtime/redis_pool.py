"""The Redis client every service but the gateway uses (the gateway bounds its round trips
itself: gateway.app)."""

from redis.asyncio import BlockingConnectionPool, Redis

MAX_CONNECTIONS = 64
# a Redis that accepts and never answers must not hold a request: it fails as a
# TimeoutError, which the services answer 503 (runtime.http) or read around (runtime.cache)
COMMAND_TIMEOUT_SECONDS = 2.0


def make_redis(url: str) -> Redis:
    """A burst of requests waits its turn for a connection (at most the command timeout)
    instead of failing past redis-py's default cap of 100."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=COMMAND_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS, socket_connect_timeout=COMMAND_TIMEOUT_SECONDS)
    return Redis(connection_pool=pool)
