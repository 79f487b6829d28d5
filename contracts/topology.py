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
