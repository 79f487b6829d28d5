"""Settings of live_service (env vars un-prefixed, e.g. LIVE_HEARTBEAT_SECONDS)."""

from pydantic import Field

from runtime.settings import ServiceSettings


class LiveSettings(ServiceSettings):
    # a comment line this often keeps proxies (and the gateway's 30 s read deadline) from
    # closing an idle stream
    live_heartbeat_seconds: float = Field(15.0, gt=0)
    # what a browser's EventSource waits before it reconnects (the SSE `retry:` field)
    live_retry_ms: int = Field(3000, ge=0)
    # entries kept per user's feed (XADD MAXLEN ~): how far back a reconnect can reach
    live_feed_max_len: int = Field(1000, ge=1)
    # a feed nobody added to for this long is dropped whole
    live_feed_ttl_seconds: int = Field(7 * 24 * 3600, ge=60)
    # how long an event id is remembered, so a redelivery is added once
    live_dedupe_ttl_seconds: int = Field(24 * 3600, ge=60)
    # messages waiting for one slow stream before it is closed (its client reconnects with
    # Last-Event-ID and reads the rest from the feed)
    live_stream_queue_max: int = Field(1000, ge=1)
