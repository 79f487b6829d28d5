"""Long-polling a job's status without polling the database in a loop: one LISTEN connection
per process wakes the requests waiting on a job when the transaction that finishes it commits
(the finishing code NOTIFYs `channel` with the job id). A re-check every half second covers a
notification missed while the listener reconnects."""

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

log = logging.getLogger(__name__)
RECHECK_SECONDS = 0.5


class JobWaiter:
    def __init__(self, dsn: str, channel: str) -> None:
        self.dsn, self.channel = dsn, channel
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

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
        for event in self._waiters.get(job_id, ()):
            event.set()

    async def wait(self, job_id: str, timeout: float, load: Callable[[], Awaitable[Any]],
                   done: Callable[[Any], bool]) -> Any:
        """`load()` until `done(row)` or the time is up; the last row loaded. The first load
        comes after the listener is registered, so a job finishing in between is not missed."""
        event = asyncio.Event()
        self._waiters[job_id].add(event)
        deadline = time.monotonic() + timeout
        try:
            row = await load()
            while not done(row) and (remaining := deadline - time.monotonic()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(remaining, RECHECK_SECONDS))
                event.clear()
                row = await load()
            return row
        finally:
            self._waiters[job_id].discard(event)
            if not self._waiters[job_id]:
                del self._waiters[job_id]
