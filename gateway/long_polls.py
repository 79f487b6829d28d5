"""Caps on the long polls a caller may hold open at once (`?wait=` on a job's status).

A long poll holds an upstream connection for up to its wait; without a cap one signed-in
user, or one address with many sessions, could hold every connection to a service. The
counts are this gateway instance's own (each instance has its own upstream pools to guard).
"""

import contextlib
from collections import Counter
from collections.abc import Iterator


class LongPollCaps:
    def __init__(self, per_session: int, per_address: int) -> None:
        self.per_session, self.per_address = per_session, per_address
        self._open: Counter[str] = Counter()

    @contextlib.contextmanager
    def holding(self, session_key: str, address: str) -> Iterator[bool]:
        """Yields whether the caller may open one more; counted until the block ends."""
        keys = (f"s:{session_key}", f"a:{address}")
        if (self._open[keys[0]] >= self.per_session
                or self._open[keys[1]] >= self.per_address):
            yield False
            return
        for key in keys:
            self._open[key] += 1
        try:
            yield True
        finally:
            for key in keys:
                self._open[key] -= 1
                if not self._open[key]:
                    del self._open[key]


def waits(query: bytes) -> bool:
    """Whether a query string asks the service to wait (`wait=` with a non-zero value)."""
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == b"wait" and value.strip(b"0.") != b"":
            return True
    return False
