"""Who may see a password-protected share: the caller who gives its password
(`X-Share-Password`, checked against the Argon2 hash) or holds the short-lived signed cookie
that the share's password form sets. Wrong passwords are counted in Redis per share and
address (10 a minute) and per share (100 a minute, against guessing from many addresses);
past either, every try is a 429 until the minute ends. Addresses are kept only as salted
hashes."""

import hashlib
import hmac

from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.asyncio import Redis

from resume_service.shares import PublicShare, ShareService, password_matches

WINDOW_SECONDS = 60
TRIES_PER_ADDRESS = 10
TRIES_PER_SHARE = 100


class PasswordRequired(Exception):
    """No password, a wrong one, or no valid unlock cookie."""


class TooManyTries(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class ShareAccess:
    def __init__(self, redis: Redis, secret: str, salt: str, unlock_seconds: int) -> None:
        self.redis, self.salt, self.unlock_seconds = redis, salt, unlock_seconds
        self._cookies = URLSafeTimedSerializer(secret, salt="share-unlock")

    def unlock_cookie(self, share_id: str) -> str:
        return self._cookies.dumps(share_id)

    def _cookie_unlocks(self, share_id: str, cookie: str | None) -> bool:
        if not cookie:
            return False
        try:
            return bool(self._cookies.loads(cookie, max_age=self.unlock_seconds) == share_id)
        except BadSignature:  # tampered or expired (SignatureExpired is one)
            return False

    async def check(self, shares: ShareService, share: PublicShare, password: str | None,
                    cookie: str | None, address: str) -> None:
        """Pass when `share` is open to this caller; PasswordRequired or TooManyTries."""
        if not share.protected or self._cookie_unlocks(share.share_id, cookie):
            return
        if password is None:
            raise PasswordRequired(share.share_id)
        keys = self._counters(share.share_id, address)
        await self._refuse_when_over(keys)
        if not await password_matches(await shares.password_hash(share.share_id), password):
            await self._count_wrong(keys)
            raise PasswordRequired(share.share_id)

    def _counters(self, share_id: str, address: str) -> list[tuple[str, int]]:
        who = hmac.new(self.salt.encode(), address.encode(), hashlib.sha256).hexdigest()[:32]
        return [(f"spw:{share_id}:{who}", TRIES_PER_ADDRESS), (f"spw:{share_id}", TRIES_PER_SHARE)]

    async def _refuse_when_over(self, keys: list[tuple[str, int]]) -> None:
        counts = await self.redis.mget([key for key, _ in keys])
        for (key, limit), count in zip(keys, counts, strict=True):
            if count is not None and int(count) >= limit:
                raise TooManyTries(max(1, await self.redis.ttl(key)))

    async def _count_wrong(self, keys: list[tuple[str, int]]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, _ in keys:
                pipe.incr(key)
                pipe.expire(key, WINDOW_SECONDS, nx=True)
            await pipe.execute()
