"""The Redis client every service but the gateway uses (the gateway, which faces strangers,
waits its turn for a connection and bounds its round trips itself: gateway.app)."""

from redis.asyncio import ConnectionPool, Redis

# above what a service can be asked at once (the gateway keeps at most 256 connections to
# each), so no burst meets redis-py's default cap of 100 (MaxConnectionsError); a pool that
# waits for a free connection instead costs 10-15 µs more CPU per call, measured here
MAX_CONNECTIONS = 512
CONNECT_TIMEOUT_SECONDS = 2.0


def make_redis(url: str) -> Redis:
    """No socket timeout: redis-py runs each read with one as a task of its own, a tenth of
    a cached read's CPU; the per-request read sets its own deadline (runtime.cache)."""
    pool = ConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS,
                                   socket_connect_timeout=CONNECT_TIMEOUT_SECONDS)
    return Redis(connection_pool=pool)
