"""Who is calling and whether they may: the session cookie resolved to a user and the rate
limits counted, in one Redis round trip (one script, runtime.sessions) per request.

Rate limits are fixed windows shared by every gateway instance: one counter per session and
one per client address; the first request of a window starts its expiry.
"""

import hashlib
from dataclasses import dataclass

from runtime.sessions import SessionStore


@dataclass(frozen=True)
class Verdict:
    user_id: str | None
    retry_after: int  # 0 = within limits


@dataclass
class Limits:
    window_seconds: int
    per_session: int
    per_ip: int


class Gate:
    def __init__(self, sessions: SessionStore, limits: Limits) -> None:
        self.sessions, self.limits = sessions, limits

    async def check(self, session_id: str | None, client_ip: str) -> Verdict:
        counters = [(f"rl:ip:{client_ip}", self.limits.per_ip)]
        if session_id:
            counters.append((f"rl:s:{_digest(session_id)}", self.limits.per_session))
        user_id, wait = await self.sessions.resolve_counting(session_id, counters,
                                                             self.limits.window_seconds)
        return Verdict(user_id, wait)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()[:32]
