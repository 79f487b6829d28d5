"""compile_service's part of an account erasure (`compile_service.erasure`, on
AccountErased; docs/architecture.md, Privacy): runtime.erasure.JobServiceErasure over its
log, `jobs` and resume replica, and first the artifacts (PDF, figures with the ATS report,
preview) that only the user's jobs name: a PDF is stored by content, so another user's
identical compile keeps it."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from compile_service.artifacts import ArtifactStore
from compile_service.settings import CompileSettings
from compile_service.tables import erased_users, event_tables, jobs, resume_replica
from compile_service.wiring import Components
from contracts.topology import COMPILE_ERASURE_CONSUMER, COMPILE_PRODUCER
from runtime.bus import Consumer
from runtime.erasure import BeforeRows, ErasedUsers, JobServiceErasure, erasure_consumer
from runtime.eventstore import EventStore
from runtime.metrics import service_metrics

SERVICE = "compile_service"

_ONLY_THEIRS = text(f"""
    SELECT DISTINCT result->>'artifact_key' FROM {jobs.schema}.jobs
    WHERE owner_id = :user_id AND result->>'artifact_key' IS NOT NULL
    EXCEPT
    SELECT result->>'artifact_key' FROM {jobs.schema}.jobs
    WHERE owner_id <> :user_id AND result->>'artifact_key' IS NOT NULL""")


def delete_their_artifacts(store: ArtifactStore) -> BeforeRows:
    async def delete(conn: AsyncConnection, user_id: str) -> None:
        for key in (await conn.execute(_ONLY_THEIRS, {"user_id": user_id})).scalars():
            await store.delete(key)

    return delete


def compile_erasure_consumer(components: Components, settings: CompileSettings) -> Consumer:
    erasure = JobServiceErasure(
        SERVICE, components.db,
        EventStore(event_tables, COMPILE_PRODUCER, service_metrics(SERVICE)),
        ErasedUsers(components.db, erased_users), jobs, resume_replica, settings.amqp_url,
        before_rows=delete_their_artifacts(components.compiler.artifacts))
    return erasure_consumer(COMPILE_ERASURE_CONSUMER, erasure.erase,
                            settings.consumer_max_attempts)
