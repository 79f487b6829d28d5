"""What live_service builds from its settings (Redis, the feeds, the process's pub/sub hub),
built in the lifespan, never at import time; and how they reach the routes (`expose`, then
`Live`)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from starlette.datastructures import State

from live_service.feeds import Feeds
from live_service.hub import FeedHub
from live_service.service import LiveStream, StreamRules
from live_service.settings import LiveSettings
from runtime.redis_pool import make_redis


@dataclass
class Components:
    redis: Redis
    feeds: Feeds
    hub: FeedHub
    rules: StreamRules

    def stream(self, user_id: str, last_id: str | None) -> LiveStream:
        return LiveStream(self.feeds, self.hub, self.rules, user_id, last_id)

    async def aclose(self) -> None:
        await self.redis.aclose()


def build(settings: LiveSettings) -> Components:
    redis = make_redis(settings.redis_url)
    feeds = Feeds(redis, settings.live_feed_max_len, settings.live_feed_ttl_seconds,
                  settings.live_dedupe_ttl_seconds)
    rules = StreamRules(settings.live_heartbeat_seconds, settings.live_retry_ms,
                        settings.live_feed_max_len)
    hub = FeedHub(settings.redis_url, settings.live_stream_queue_max)
    return Components(redis, feeds, hub, rules)


def expose(components: Components, state: State) -> None:
    state.live = components


async def get_live(request: Request) -> Components:
    return request.app.state.live  # type: ignore[no-any-return]


Live = Annotated[Components, Depends(get_live)]
