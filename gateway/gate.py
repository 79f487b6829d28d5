"""Who is calling and whether they may: the session cookie resolved to a user and the rate
limits counted, both kept in Redis and shared by every gateway instance.

Most requests do not reach Redis. A session lookup is kept in memory while Redis tracks the
session keys for us (gateway.session_tracking: a logout or expiry drops it at once), and rate-
limit tokens are taken from Redis in small leases: a fixed window counter per session and one
per client address, of which this instance takes up to 1/20 of the limit at a time and spends
them locally. An instance never admits more than Redis granted, so every instance together
stays within the limit; tokens an instance leased but did not spend before the window ends
are lost (at most 1/20 of the limit per instance). Limits under 40 lease one token per
request, exactly as a plain counter would. When a window's tokens are gone the counter is
marked full here until the window ends, so refused clients do not reach Redis either.

When something must be asked (a new session, a lease run out), it is one Lua script, one
round trip (runtime.sessions).
"""

import asyncio
import math
import time
from dataclasses import dataclass

from gateway.session_tracking import TrackedSessions
from runtime.sessions import Counter, Grant, SessionStore

_MAX_LEASE = 64
_LEASE_SHARE = 20  # an instance leases at most limit / _LEASE_SHARE tokens at a time
_MAX_COUNTERS = 100_000
_MAX_SLIDE_EVERY_SECONDS = 60.0
REDIS_DEADLINE_SECONDS = 2.0  # a hung Redis must not hold requests (TimeoutError)


@dataclass(frozen=True)
class Verdict:
    user_id: str | None
    retry_after: int  # 0 = within limits


@dataclass
class Limits:
    window_seconds: int
    per_session: int
    per_ip: int


@dataclass
class _Lease:
    tokens: int = 0
    window_ends: float = 0.0  # monotonic
    full: bool = False  # the window's tokens are gone
    renewal: "asyncio.Future[None] | None" = None  # a request is asking Redis for more

    def take(self, now: float) -> bool:
        if now >= self.window_ends or self.full or self.tokens <= 0:
            return False
        self.tokens -= 1
        return True

    def wait(self, now: float) -> int:
        """Seconds until a full window ends (0: not full)."""
        if not self.full or now >= self.window_ends:
            return 0
        return max(1, math.ceil(self.window_ends - now))

    def renew(self, grant: Grant, now: float) -> None:
        """A lease from Redis, of which this request spends one token."""
        self.window_ends = now + grant.window_left_seconds
        self.full = grant.tokens == 0
        self.tokens = max(grant.tokens - 1, 0)


class Gate:
    def __init__(self, sessions: SessionStore, limits: Limits,
                 tracked: TrackedSessions | None = None,
                 redis_deadline_seconds: float = REDIS_DEADLINE_SECONDS) -> None:
        self.sessions, self.limits, self.tracked = sessions, limits, tracked
        self.redis_deadline_seconds = redis_deadline_seconds
        self.slide_every = min(_MAX_SLIDE_EVERY_SECONDS, sessions.idle_seconds / 4)
        self._leases: dict[str, _Lease] = {}

    async def check(self, session_id: str | None, client_ip: str) -> Verdict:
        now = time.monotonic()
        counters = [Counter(f"rl:ip:{client_ip}", self.limits.per_ip,
                            _lease_size(self.limits.per_ip))]
        key = self.sessions.key_of(session_id) if session_id else ""  # hashed once
        if key:
            counters.append(Counter(f"rl:s:{key.rsplit(':', 1)[1][:32]}",
                                    self.limits.per_session,
                                    _lease_size(self.limits.per_session)))
        leases = [self._lease(counter.key) for counter in counters]
        wait = max(lease.wait(now) for lease in leases)
        if wait:
            return Verdict(None, wait)
        to_renew = [(counter, lease) for counter, lease in zip(counters, leases, strict=True)
                    if not lease.take(now)]
        user_id = self.tracked.get(key) if self.tracked and key else None
        if not to_renew and (user_id is not None or not session_id):
            return Verdict(user_id, 0)  # from memory: no deadline to set
        async with asyncio.timeout(self.redis_deadline_seconds):
            while any(lease.renewal for _, lease in to_renew):
                to_renew, now = await self._after_renewals(to_renew)
                wait = max((lease.wait(now) for _, lease in to_renew), default=0)
                if wait:
                    return Verdict(None, wait)
                if not to_renew and (user_id is not None or not session_id):
                    return Verdict(user_id, 0)
            return await self._ask_redis(session_id if user_id is None else None, key,
                                         user_id, to_renew, now)

    async def _after_renewals(self, to_renew: list[tuple[Counter, "_Lease"]]
                              ) -> tuple[list[tuple[Counter, "_Lease"]], float]:
        """Wait for the renewals other requests have in flight, then take from what they
        brought; what is still missing is this request's to renew. A burst of requests
        meeting an empty lease thus makes one Redis round trip, not one each (each would
        lease a share of the limit, and a burst of 20 could spend the window of one)."""
        for _, lease in to_renew:
            if lease.renewal is not None:
                await asyncio.shield(lease.renewal)
        now = time.monotonic()
        return [(counter, lease) for counter, lease in to_renew
                if lease.wait(now) or not lease.take(now)], now

    async def _ask_redis(self, session_id: str | None, key: str, known_user: str | None,
                         to_renew: list[tuple[Counter, _Lease]], now: float) -> Verdict:
        epoch = self.tracked.epoch if self.tracked else 0
        renewed = asyncio.get_running_loop().create_future()
        for _, lease in to_renew:
            lease.renewal = renewed
        try:
            lookup, grants = await self.sessions.resolve_counting(
                session_id, [counter for counter, _ in to_renew], self.limits.window_seconds,
                self.slide_every if self.tracked else 0)
        finally:
            renewed.set_result(None)
            for _, lease in to_renew:
                if lease.renewal is renewed:
                    lease.renewal = None
        user_id = known_user
        if lookup is not None:
            user_id = lookup.user_id
            if self.tracked and user_id is not None:
                self.tracked.keep(key, user_id, lookup.reuse_seconds, epoch)
        for (_, lease), grant in zip(to_renew, grants, strict=True):
            lease.renew(grant, now)
        return Verdict(user_id, max(lease.wait(now) for _, lease in to_renew) if to_renew
                       else 0)

    def forget(self, session_id: str | None) -> None:
        """Drop a kept lookup now (the gateway forwarded a logout)."""
        if self.tracked and session_id:
            self.tracked.forget(self.sessions.key_of(session_id))

    def _lease(self, key: str) -> _Lease:
        lease = self._leases.get(key)
        if lease is None:
            if len(self._leases) >= _MAX_COUNTERS:
                self._leases.clear()  # spent leases are lost: stricter, never looser
            lease = self._leases[key] = _Lease()
        return lease


def _lease_size(limit: int) -> int:
    return max(1, min(_MAX_LEASE, limit // _LEASE_SHARE))

