"""The batch consumer's rules without I/O (runtime.consumers): when one `multiple` ack may
settle a batch, and what the replicas' consumers are made of."""

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.topology import RESUME_EVENT_KEYS
from runtime.consumers import BatchConsumer, acks_only_these
from runtime.logs import TracePolicy
from runtime.replica import define_resume_replica, resume_replica_consumer


def test_a_multiple_ack_is_taken_only_when_no_older_delivery_is_unsettled() -> None:
    assert acks_only_these(7, [])
    assert acks_only_these(7, [8, 12])  # arrived after the batch was taken
    assert not acks_only_these(7, [3])  # e.g. a failed message waiting out its backoff
    assert not acks_only_these(7, [9, 3])


def test_a_replica_consumer_batches_with_bounded_prefetch_under_the_trace_policy() -> None:
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    replica = define_resume_replica(MetaData(schema="x"))
    policy = TracePolicy("problems")
    consumer = resume_replica_consumer("x.resumes", engine, replica, 3, policy)
    assert isinstance(consumer, BatchConsumer)
    assert consumer.binding_keys == RESUME_EVENT_KEYS and consumer.max_attempts == 3
    assert 64 <= consumer.prefetch <= 128
    assert consumer.trace is policy
