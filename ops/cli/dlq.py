"""`dlq list|show|retry|drop CONSUMER`: the dead letters of one consumer.

Reading never consumes: messages are taken with basic.get and held unacknowledged until the
command ends, then rejected with requeue, which puts them back where they were (holding them
also keeps the same message from being read twice). `retry` republishes a dead letter to the
consumer's own queue through the default exchange (so no other consumer sees it) with the
dead-lettering headers removed, waits for the broker's confirm, and only then acks it.
"""

from dataclasses import dataclass
from typing import Annotated, Any

import orjson
import typer
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from rich.table import Table

from contracts.topology import dead_letter_queue
from ops.cli.amqp import broker, existing_queue, publisher, send_to_queue
from ops.cli.common import CliError, out, print_json, run

dlq_app = typer.Typer(help="Inspect, requeue or drop a consumer's dead letters.",
                      no_args_is_help=True)

DEAD_LETTER_HEADERS = ("x-error", "x-consumer", "x-original-routing-key", "x-death",
                       "x-delivery-count", "x-first-death-exchange", "x-first-death-queue",
                       "x-first-death-reason", "x-last-death-exchange", "x-last-death-queue",
                       "x-last-death-reason")
Consumer = Annotated[str, typer.Argument(help="The consumer (queue) name.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
MessageId = Annotated[str | None, typer.Argument(help="One message (see `dlq list`).")]
Every = Annotated[bool, typer.Option("--all", help="Every message in the dead-letter queue.")]


@dataclass(frozen=True)
class DeadLetter:
    message: AbstractIncomingMessage

    @property
    def headers(self) -> dict[str, Any]:
        return dict(self.message.headers or {})

    def body(self) -> Any:
        try:
            return orjson.loads(self.message.body)
        except orjson.JSONDecodeError:
            return self.message.body.decode(errors="replace")

    def error(self) -> str:
        if "x-error" in self.headers:
            return str(self.headers["x-error"])
        deaths = self.headers.get("x-death") or []
        return f"broker: {deaths[0].get('reason')}" if deaths else ""

    def summary(self) -> dict[str, Any]:
        body = self.body()
        envelope = body if isinstance(body, dict) else {}
        return {"message_id": self.message.message_id,
                "event_type": envelope.get("event_type") or self.headers.get("event_type"),
                "stream_id": envelope.get("stream_id"),
                "stream_version": envelope.get("stream_version"),
                "routing_key": self.headers.get("x-original-routing-key"),
                "replay": envelope.get("replay"), "error": self.error()}


async def _hold(queue: AbstractQueue, limit: int) -> list[DeadLetter]:
    held: list[DeadLetter] = []
    while len(held) < limit:
        message = await queue.get(no_ack=False, fail=False, timeout=10)
        if message is None:
            break
        held.append(DeadLetter(message))
    return held


async def _release(held: list[DeadLetter]) -> None:
    for letter in held:
        await letter.message.nack(requeue=True)


async def peek(consumer: str, limit: int) -> list[DeadLetter]:
    """Read up to `limit` dead letters, leaving them all in the queue."""
    async with broker() as connection:
        queue = await existing_queue(connection, dead_letter_queue(consumer))
        held = await _hold(queue, limit)
        await _release(held)
    return held


@dlq_app.command("list")
def list_dead_letters(consumer: Consumer, limit: int = 100, json_out: AsJson = False) -> None:
    """List a consumer's dead letters (without consuming them)."""
    summaries = [d.summary() for d in run(peek(consumer, limit))]
    if json_out:
        print_json(summaries)
        return
    table = Table(title=f"{dead_letter_queue(consumer)}: {len(summaries)} shown")
    for column in ("message id", "event", "stream@version", "error"):
        table.add_column(column)
    for s in summaries:
        table.add_row(s["message_id"] or "", s["event_type"] or "",
                      f"{s['stream_id']}@{s['stream_version']}", s["error"][:120])
    out().print(table)


@dlq_app.command("show")
def show(consumer: Consumer, message_id: str, limit: int = 10000) -> None:
    """Print one dead letter: headers, error and body (without consuming it)."""
    print_json(run(_find(consumer, message_id, limit)))


async def _find(consumer: str, message_id: str, limit: int) -> dict[str, Any]:
    for letter in await peek(consumer, limit):
        if letter.message.message_id == message_id:
            return {"message_id": message_id, "error": letter.error(),
                    "headers": letter.headers, "body": letter.body()}
    raise CliError(f"no dead letter {message_id!r} in {dead_letter_queue(consumer)}")


def _which(message_id: str | None, every: bool) -> str | None:
    if (message_id is not None) != every:  # exactly one of them
        return message_id
    raise typer.BadParameter("give a MESSAGE_ID or --all (not both)")


@dlq_app.command("retry")
def retry(consumer: Consumer, message_id: MessageId = None, every: Every = False) -> None:
    """Send dead letters back to the consumer's own queue, then remove them from the DLQ."""
    count = run(_take(consumer, _which(message_id, every), requeue_to_consumer=True))
    out().print(f"[green]requeued[/] {count} message(s) to {consumer}")


@dlq_app.command("drop")
def drop(consumer: Consumer, message_id: MessageId = None, every: Every = False) -> None:
    """Delete dead letters for good."""
    count = run(_take(consumer, _which(message_id, every), requeue_to_consumer=False))
    out().print(f"[yellow]dropped[/] {count} message(s) from {dead_letter_queue(consumer)}")


async def _take(consumer: str, message_id: str | None, requeue_to_consumer: bool) -> int:
    async with broker() as connection:
        dlq = await existing_queue(connection, dead_letter_queue(consumer))
        channel = None
        if requeue_to_consumer:
            await existing_queue(connection, consumer)
            channel = await publisher(connection)
        kept: list[DeadLetter] = []
        taken = 0
        try:
            while (message := await dlq.get(no_ack=False, fail=False, timeout=10)) is not None:
                if message_id is not None and message.message_id != message_id:
                    kept.append(DeadLetter(message))
                    continue
                if channel is not None:
                    await _republish(channel, consumer, DeadLetter(message))
                await message.ack()
                taken += 1
                if message_id is not None:
                    break
        finally:
            await _release(kept)
    if message_id is not None and not taken:
        raise CliError(f"no dead letter {message_id!r} in {dead_letter_queue(consumer)}")
    return taken


async def _republish(channel: Any, consumer: str, letter: DeadLetter) -> None:
    headers = {k: v for k, v in letter.headers.items() if k not in DEAD_LETTER_HEADERS}
    headers["x-retried-after-error"] = letter.error()[:500]
    message = letter.message
    await send_to_queue(channel, consumer, message.body, headers=headers,
                        message_id=message.message_id, correlation_id=message.correlation_id,
                        content_type=message.content_type)
