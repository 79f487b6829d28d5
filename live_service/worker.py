"""The consumer of live_service.

- `live_service.feed` (binds every resume event, every job event of compile and ai, and a
  share's views: contracts.topology.LIVE_FEED_KEYS): adds the event's small message to its
  owner's feed (feeds.py), once per event id, so a redelivery adds nothing; an event no user
  sees (a replay, one without an owner) is acknowledged and left out.
"""

from contracts.envelope import EventEnvelope
from contracts.topology import CONSUMERS, LIVE_FEED_CONSUMER
from live_service.domain import feed_entry
from live_service.feeds import Feeds
from runtime.bus import Consumer


def feed_consumer(feeds: Feeds, max_attempts: int = 5) -> Consumer:
    async def add_to_feed(envelope: EventEnvelope) -> None:
        entry = feed_entry(envelope)
        if entry is not None:
            await feeds.append(str(envelope.event_id), entry)

    return Consumer(LIVE_FEED_CONSUMER, CONSUMERS[LIVE_FEED_CONSUMER], add_to_feed,
                    max_attempts=max_attempts, prefetch=64)
