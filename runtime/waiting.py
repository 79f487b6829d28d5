"""Long-polling a job's status without polling the database in a loop: one LISTEN connection
per process wakes the requests waiting on a job when the transaction that finishes it commits
(the finishing code NOTIFYs `channel` with the job id). A re-check every half second covers a
notification missed while the listener reconnects. `Wakeups`, the waits of this process by
key, serves the replica's version waits too (runtime.replica)."""

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg

log = logging.getLogger(__name__)
RECHECK_SECONDS = 0.5


class Wakeups:
    """The waits of this process by key; `wake(key)` sets the event of each of them."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = defaultdict(set)

    @contextlib.contextmanager
    def listening(self, key: str) -> Iterator[asyncio.Event]:
        """An event set by every `wake(key)` for the span of the block."""
        event = asyncio.Event()
        self._waiting[key].add(event)
        try:
            yield event
        finally:
            self._waiting[key].discard(event)
            if not self._waiting[key]:
                del self._waiting[key]

    def wake(self, key: str) -> None:
        for event in self._waiting.get(key, ()):
            event.set()


async def woken_or_after(event: asyncio.Event, seconds: float) -> None:
    """Once `event` is set (and clears it again) or `seconds` have passed."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    event.clear()


class JobWaiter:
    def __init__(self, dsn: str, channel: str) -> None:
        self.dsn, self.channel = dsn, channel
        self._wakeups = Wakeups()

    async def run_forever(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self.dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("job waiter cannot connect (%r); retrying", exc)
                await asyncio.sleep(1)
                continue
            try:
                await conn.add_listener(self.channel, self._on_notify)
                while not conn.is_closed():
                    await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))

    def _on_notify(self, _conn: object, _pid: int, _channel: str, job_id: str) -> None:
        self._wakeups.wake(job_id)

    async def wait(self, job_id: str, timeout: float, load: Callable[[], Awaitable[Any]],
                   done: Callable[[Any], bool]) -> Any:
        """`load()` until `done(row)` or the time is up; the last row loaded. The first load
        comes after the listener is registered, so a job finishing in between is not missed."""
        deadline = time.monotonic() + timeout
        with self._wakeups.listening(job_id) as finished:
            row = await load()
            while not done(row) and (remaining := deadline - time.monotonic()) > 0:
                await woken_or_after(finished, min(remaining, RECHECK_SECONDS))
                row = await load()
            return row
