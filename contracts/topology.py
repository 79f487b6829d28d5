"""Names of the bus topology. Services use these constants, never string literals.

Every event is published to one topic exchange with the routing key
``<producer>.<EventType>`` (e.g. ``resume.ResumeUpdated``). Each consumer owns one durable
quorum queue named after it, bound to the keys it needs, plus a dead-letter queue
``<consumer>.dlq`` reached through the dead-letter exchange with the consumer's name as key.
"""

EVENTS_EXCHANGE = "events"
DEAD_LETTER_EXCHANGE = "events.dlx"

RESUME_PRODUCER = "resume"
AUTH_PRODUCER = "auth"
COMPILE_PRODUCER = "compile"
AI_PRODUCER = "ai"


def routing_key(producer: str, event_type: str) -> str:
    return f"{producer}.{event_type}"


def dead_letter_queue(consumer: str) -> str:
    return f"{consumer}.dlq"


RESUME_EVENT_KEYS = tuple(routing_key(RESUME_PRODUCER, t)
                          for t in ("ResumeCreated", "ResumeUpdated", "ResumeDeleted"))

# Every consumer (= its queue's name) and the routing keys its queue binds. Every process
# declares all of them when it connects, so an event published before its consumer ever ran
# still waits in that consumer's queue.
CONSUMERS: dict[str, tuple[str, ...]] = {
    "resume_service.sessions": (routing_key(AUTH_PRODUCER, "UserSignedOut"),),
    "compile_service.resumes": RESUME_EVENT_KEYS,
    "compile_service.jobs": (routing_key(COMPILE_PRODUCER, "CompileRequested"),),
    "ai_service.resumes": RESUME_EVENT_KEYS,
    "ai_service.ratings": (routing_key(AI_PRODUCER, "RatingRequested"),),
}

# The broker dead-letters a message after this many deliveries (a backstop for consumers
# that die mid-message); consumers give up on their own after fewer attempts.
DELIVERY_LIMIT = 20
