"""live_service's part of an account erasure (`live_service.erasure`, on AccountErased;
docs/architecture.md, Privacy). It stores nothing but Redis: the user goes into the set of
erased users (`live-erased`, which the feed consumer asks before it adds an entry), their
feed `live:{user}` goes, and its `ErasureCompleted` goes straight to the bus (there is no
outbox here: a lost report is sent again when the erasure is redelivered)."""

import uuid
from datetime import UTC, datetime

import orjson
from faststream.rabbit import RabbitBroker
from redis.asyncio import Redis

from contracts.auth_events import AccountErased
from contracts.envelope import EventEnvelope
from contracts.erasure_events import ErasureCompleted
from contracts.topology import LIVE_ERASURE_CONSUMER, LIVE_PRODUCER, routing_key
from live_service.feeds import ERASED_KEY, feed_key
from runtime.bus import EVENTS, Consumer
from runtime.erasure import completion_stream, erasure_consumer

SERVICE = "live_service"


class LiveErasure:
    def __init__(self, redis: Redis, broker: RabbitBroker) -> None:
        self.redis, self.broker = redis, broker

    async def erase(self, erasure: AccountErased) -> None:
        await self.redis.sadd(ERASED_KEY, erasure.user_id)  # type: ignore[misc]
        await self.redis.delete(feed_key(erasure.user_id))
        await self.broker.publish(orjson.dumps(completed(erasure).model_dump(mode="json")),
                                  exchange=EVENTS, persist=True, timeout=10,
                                  routing_key=routing_key(LIVE_PRODUCER,
                                                          ErasureCompleted.event_type),
                                  content_type="application/json")


def completed(erasure: AccountErased) -> EventEnvelope:
    report = ErasureCompleted(user_id=erasure.user_id, erasure_id=erasure.erasure_id,
                              service=SERVICE)
    return EventEnvelope(event_id=uuid.uuid4(), event_type=report.event_type,
                         stream_id=completion_stream(erasure.erasure_id, SERVICE),
                         stream_version=1, occurred_at=datetime.now(UTC),
                         user_id=erasure.user_id, payload=report.model_dump())


def live_erasure_consumer(redis: Redis, broker: RabbitBroker, max_attempts: int = 5) -> Consumer:
    return erasure_consumer(LIVE_ERASURE_CONSUMER, LiveErasure(redis, broker).erase,
                            max_attempts)
