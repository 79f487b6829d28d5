"""Consumers of resume_service.

- `resume_service.sessions` (binds ``auth.UserSignedOut``): drops the user's resume read
  cache when they sign out, as the seed did on logout. Dropping is a generation bump
  (runtime.cache), so duplicates and any ordering are harmless: bumping twice or late only
  costs a cache miss, never serves stale data.
"""

from contracts.auth_events import UserSignedOut
from contracts.envelope import EventEnvelope
from contracts.topology import CONSUMERS, RESUME_SESSIONS_CONSUMER
from runtime.bus import Consumer
from runtime.cache import ReadCache


def signed_out_consumer(cache: ReadCache, max_attempts: int = 5) -> Consumer:
    async def drop_cache(envelope: EventEnvelope) -> None:
        user_id = UserSignedOut.model_validate(envelope.payload).user_id
        await cache.invalidate(user_id)

    return Consumer(RESUME_SESSIONS_CONSUMER, CONSUMERS[RESUME_SESSIONS_CONSUMER], drop_cache,
                    max_attempts=max_attempts)
