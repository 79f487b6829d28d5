"""Names of the bus topology and of the stores behind it. Services use these constants (and
event types as `SomeEvent.event_type`), never string literals.

Every event is published to one topic exchange with the routing key
``<producer>.<EventType>`` (e.g. ``resume.ResumeUpdated``). Each consumer owns one durable
quorum queue named after it, bound to the keys it needs, plus a dead-letter queue
``<consumer>.dlq`` reached through the dead-letter exchange with the consumer's name as key.
"""

from contracts.ai_events import (
    ImportFinished,
    ImportRequested,
    ImportStarted,
    RatingFinished,
    RatingRequested,
    RatingStarted,
)
from contracts.auth_events import AccountErased, UserSignedOut
from contracts.compile_events import CompileFinished, CompileRequested, CompileStarted
from contracts.erasure_events import ErasureCompleted
from contracts.privacy_events import ExportFinished, ExportRequested, ExportStarted
from contracts.resume_events import RESUME_EVENTS
from contracts.share_events import ShareViewed

EVENTS_EXCHANGE = "events"
DEAD_LETTER_EXCHANGE = "events.dlx"

RESUME_PRODUCER = "resume"
AUTH_PRODUCER = "auth"
COMPILE_PRODUCER = "compile"
AI_PRODUCER = "ai"
# live_service stores nothing; it publishes only its ErasureCompleted, straight to the bus
LIVE_PRODUCER = "live"
# share links are resume_service's: their events go to its store and leave as resume.*
SHARE_PRODUCER = RESUME_PRODUCER
# account exports are auth_service's jobs: their events go to its store and leave as auth.*
PRIVACY_PRODUCER = AUTH_PRODUCER

# A producer's events are stored in the PostgreSQL schema of the same name: a projection fed by
# another service's events reads them from there (rebuilds) or from the bus (live).
RESUME_SCHEMA = RESUME_PRODUCER
AUTH_SCHEMA = AUTH_PRODUCER
COMPILE_SCHEMA = COMPILE_PRODUCER
AI_SCHEMA = AI_PRODUCER

# Consumers, each the name of its own queue.
RESUME_SESSIONS_CONSUMER = "resume_service.sessions"
RESUME_IMPORTS_CONSUMER = "resume_service.imports"
COMPILE_RESUMES_CONSUMER = "compile_service.resumes"
COMPILE_JOBS_CONSUMER = "compile_service.jobs"
AI_RESUMES_CONSUMER = "ai_service.resumes"
AI_RATINGS_CONSUMER = "ai_service.ratings"
AI_IMPORTS_CONSUMER = "ai_service.imports"
LIVE_FEED_CONSUMER = "live_service.feed"
# the account export worker (python -m ops.export_worker): an auth_service job
AUTH_EXPORTS_CONSUMER = "auth_service.exports"
# account erasure (docs/architecture.md, Privacy): one consumer per service holding user data,
# and auth_service's record of their reports
RESUME_ERASURE_CONSUMER = "resume_service.erasure"
COMPILE_ERASURE_CONSUMER = "compile_service.erasure"
AI_ERASURE_CONSUMER = "ai_service.erasure"
LIVE_ERASURE_CONSUMER = "live_service.erasure"
AUTH_ERASURES_CONSUMER = "auth_service.erasures"


def routing_key(producer: str, event_type: str) -> str:
    return f"{producer}.{event_type}"


def dead_letter_queue(consumer: str) -> str:
    return f"{consumer}.dlq"


RESUME_EVENT_KEYS = tuple(routing_key(RESUME_PRODUCER, t) for t in RESUME_EVENTS)

JOB_EVENT_KEYS = tuple(
    routing_key(producer, event.event_type) for producer, events in (
        (COMPILE_PRODUCER, (CompileRequested, CompileStarted, CompileFinished)),
        (AI_PRODUCER, (RatingRequested, RatingStarted, RatingFinished,
                       ImportRequested, ImportStarted, ImportFinished)),
        (AUTH_PRODUCER, (ExportRequested, ExportStarted, ExportFinished)))
    for event in events)
# a share's views (resume_service's shares)
SHARE_VIEWED_EVENT = ShareViewed.event_type
SHARE_VIEWED_KEY = routing_key(RESUME_PRODUCER, SHARE_VIEWED_EVENT)
# what a signed-in user sees live (live_service: GET /events)
LIVE_FEED_KEYS = (*RESUME_EVENT_KEYS, *JOB_EVENT_KEYS, SHARE_VIEWED_KEY)

ACCOUNT_ERASED_KEY = routing_key(AUTH_PRODUCER, AccountErased.event_type)
# service -> the producer its ErasureCompleted leaves as; auth_service erases its own part in
# the request itself (it records its report there)
ERASING_SERVICES: dict[str, str] = {
    "auth_service": AUTH_PRODUCER, "resume_service": RESUME_PRODUCER,
    "compile_service": COMPILE_PRODUCER, "ai_service": AI_PRODUCER,
    "live_service": LIVE_PRODUCER,
}
# the producers of ErasureCompleted (contracts.erasure_events.ERASURE_EVENTS)
ERASURE_PRODUCERS = tuple(p for p in ERASING_SERVICES.values() if p != AUTH_PRODUCER)
ERASURE_COMPLETED_KEYS = tuple(routing_key(producer, ErasureCompleted.event_type)
                               for producer in ERASURE_PRODUCERS)

# Every consumer (= its queue's name) and the routing keys its queue binds. Every process
# declares all of them when it connects, so an event published before its consumer ever ran
# still waits in that consumer's queue.
CONSUMERS: dict[str, tuple[str, ...]] = {
    RESUME_SESSIONS_CONSUMER: (routing_key(AUTH_PRODUCER, UserSignedOut.event_type),),
    RESUME_IMPORTS_CONSUMER: (routing_key(AI_PRODUCER, ImportFinished.event_type),),
    COMPILE_RESUMES_CONSUMER: RESUME_EVENT_KEYS,
    COMPILE_JOBS_CONSUMER: (routing_key(COMPILE_PRODUCER, CompileRequested.event_type),),
    AI_RESUMES_CONSUMER: RESUME_EVENT_KEYS,
    AI_RATINGS_CONSUMER: (routing_key(AI_PRODUCER, RatingRequested.event_type),),
    AI_IMPORTS_CONSUMER: (routing_key(AI_PRODUCER, ImportRequested.event_type),),
    LIVE_FEED_CONSUMER: LIVE_FEED_KEYS,
    AUTH_EXPORTS_CONSUMER: (routing_key(AUTH_PRODUCER, ExportRequested.event_type),),
    RESUME_ERASURE_CONSUMER: (ACCOUNT_ERASED_KEY,),
    COMPILE_ERASURE_CONSUMER: (ACCOUNT_ERASED_KEY,),
    AI_ERASURE_CONSUMER: (ACCOUNT_ERASED_KEY,),
    LIVE_ERASURE_CONSUMER: (ACCOUNT_ERASED_KEY,),
    AUTH_ERASURES_CONSUMER: ERASURE_COMPLETED_KEYS,
}

# The broker dead-letters a message after this many deliveries (a backstop for consumers
# that die mid-message); consumers give up on their own after fewer attempts.
DELIVERY_LIMIT = 20
