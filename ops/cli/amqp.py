"""RabbitMQ access for the CLI (aio-pika): a connection with a clear error when the broker is
away, queues that must already exist (declared passively, never created by the CLI), and
publishing to one queue through the default exchange, with confirms and `mandatory`, so a
message reaches exactly that queue or the command fails."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractQueue
from aio_pika.exceptions import AMQPConnectionError, ChannelNotFoundEntity
from yarl import URL

from ops.cli.common import CliError, settings


@asynccontextmanager
async def broker() -> AsyncIterator[AbstractConnection]:
    url = settings().amqp_url
    try:
        connection = await aio_pika.connect(url, timeout=10)
    except (TimeoutError, AMQPConnectionError, OSError) as exc:
        raise CliError(f"cannot reach RabbitMQ at {URL(url).with_password(None)}: "
                       f"{exc!r}") from None
    async with connection:
        yield connection


async def existing_queue(connection: AbstractConnection, name: str) -> AbstractQueue:
    """The queue on a channel of its own, or a CliError when no such queue exists."""
    channel = await connection.channel()
    try:
        return await channel.declare_queue(name, passive=True)
    except ChannelNotFoundEntity:
        raise CliError(f"no queue named {name!r} (has its consumer ever started?)") from None


async def publisher(connection: AbstractConnection) -> AbstractChannel:
    """A channel whose publishes wait for the broker's confirm and fail when unroutable."""
    return await connection.channel(publisher_confirms=True, on_return_raises=True)


async def send_to_queue(channel: AbstractChannel, queue: str, body: bytes, *,
                        headers: dict[str, Any], message_id: str | None,
                        correlation_id: str | None, content_type: str | None) -> None:
    message = aio_pika.Message(
        body, headers=headers, message_id=message_id, correlation_id=correlation_id,
        content_type=content_type or "application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
    await channel.default_exchange.publish(message, routing_key=queue, mandatory=True,
                                           timeout=10)
