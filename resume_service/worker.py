"""Consumers of resume_service.

- `resume_service.sessions` (binds ``auth.UserSignedOut``): drops the user's resume read
  cache when they sign out, as the seed did on logout. Dropping is a generation bump
  (runtime.cache), so duplicates and any ordering are harmless: bumping twice or late only
  costs a cache miss, never serves stale data.
- `resume_service.imports` (binds ``ai.ImportFinished``): creates the resume a succeeded AI
  import read from a file, with the id the import chose, through the command path
  (`CreateResume`, its first event saying it was imported, from which file and by which
  model). Creating with an id that is already the owner's resume records nothing, so a
  redelivery is harmless; an id whose resume was deleted since is left alone.
"""

import logging

from contracts.ai_events import ImportFinished
from contracts.auth_events import UserSignedOut
from contracts.envelope import EventEnvelope
from contracts.resume_events import ImportOrigin
from contracts.topology import CONSUMERS, RESUME_IMPORTS_CONSUMER, RESUME_SESSIONS_CONSUMER
from resume_service.domain import CreateResume, ResumeIdTaken, TooManyBullets
from resume_service.service import ResumeService
from runtime.bus import Consumer
from runtime.cache import ReadCache

log = logging.getLogger(__name__)


def signed_out_consumer(cache: ReadCache, max_attempts: int = 5) -> Consumer:
    async def drop_cache(envelope: EventEnvelope) -> None:
        user_id = UserSignedOut.model_validate(envelope.payload).user_id
        await cache.invalidate(user_id)

    return Consumer(RESUME_SESSIONS_CONSUMER, CONSUMERS[RESUME_SESSIONS_CONSUMER], drop_cache,
                    max_attempts=max_attempts)


def imported_resumes_consumer(service: ResumeService, max_attempts: int = 5) -> Consumer:
    async def create(envelope: EventEnvelope) -> None:
        finished = ImportFinished.model_validate(envelope.payload)
        if (finished.outcome != "succeeded" or finished.document is None
                or finished.resume_id is None or finished.owner_id is None):
            return
        origin = ImportOrigin(format="ai", file_name=finished.file_name, model=finished.model)
        try:
            await service.execute(finished.resume_id,
                                  CreateResume(finished.owner_id, finished.document, origin))
        except ResumeIdTaken:  # deleted since it was created: a late redelivery
            log.info("imported resume %s exists no more; not created again",
                     finished.resume_id)
        except TooManyBullets as exc:  # ai_service refuses these: one from an older version
            log.warning("imported resume %s not created: %s", finished.resume_id, exc)

    return Consumer(RESUME_IMPORTS_CONSUMER, CONSUMERS[RESUME_IMPORTS_CONSUMER], create,
                    max_attempts=max_attempts)
