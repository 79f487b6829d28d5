"""Each user's feed: a Redis stream `live:{user_id}` of small messages, its ids the SSE ids.

An entry's id is its position in the user's feed (Redis stream ids: `<ms>-<seq>`, strictly
increasing), so "what came after the id I last saw" is one XRANGE. The feed is bounded
(XADD MAXLEN ~ `max_len`) and dropped whole after `ttl_seconds` without an entry. Adding an
entry also PUBLISHes it on the channel of the same name, which the streams of this user
hear through one pub/sub connection per process (hub.py); the XADD, the PUBLISH and the
dedupe key are one script, so a message is in the feed exactly when it was announced.

Redelivery: an event is added once, whatever the bus does: the script sets
`live:seen:{event_id}` (NX, `dedupe_ttl_seconds`) and adds nothing when it was set already.
"""

import re
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from live_service.domain import FeedEntry

FEED_PREFIX = "live:"
SEEN_PREFIX = "live:seen:"
ERASED_KEY = "live-erased"  # the erased users (not under `live:`, where every key is a feed)
# a stream id as Redis makes them: milliseconds and a sequence number
ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")

# an erased user's event is dropped here, in the append itself: no round trip of its own
_APPEND = """
if redis.call('SISMEMBER', KEYS[3], ARGV[6]) == 1 then return false end
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return false end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[4],
                      'data', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', KEYS[1], id .. ' ' .. ARGV[4] .. ' ' .. ARGV[5])
return id
"""


@dataclass(frozen=True)
class Message:
    """One message of a feed, as a stream sends it."""

    id: str
    event: str
    data: bytes  # JSON

    @property
    def position(self) -> tuple[int, int]:
        return entry_position(self.id)


def entry_position(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def feed_key(user_id: str) -> str:
    return FEED_PREFIX + user_id


def published(raw: bytes) -> Message:
    """A message as the append script PUBLISHed it: `<id> <event> <json>`."""
    entry_id, event, data = raw.split(b" ", 2)
    return Message(entry_id.decode(), event.decode(), data)


class Feeds:
    def __init__(self, redis: Redis, max_len: int, ttl_seconds: int,
                 dedupe_ttl_seconds: int) -> None:
        self.redis = redis
        self.max_len, self.ttl_seconds = max_len, ttl_seconds
        self.dedupe_ttl_seconds = dedupe_ttl_seconds
        self._append = redis.register_script(_APPEND)

    async def append(self, event_id: str, entry: FeedEntry) -> str | None:
        """Adds the entry to its user's feed; its id, or None when the event was added
        already or its user was erased."""
        added: Any = await self._append(
            keys=[feed_key(entry.user_id), SEEN_PREFIX + event_id, ERASED_KEY],
            args=[self.dedupe_ttl_seconds, self.max_len, self.ttl_seconds, entry.event,
                  orjson.dumps(entry.data), entry.user_id])
        return added.decode() if isinstance(added, bytes) else None

    async def after(self, user_id: str, last_id: str, count: int) -> list[Message]:
        """Up to `count` messages after `last_id`, oldest first."""
        rows: Any = await self.redis.xrange(feed_key(user_id), f"({last_id}", "+", count=count)
        return [Message(entry_id.decode(), fields[b"event"].decode(), fields[b"data"])
                for entry_id, fields in rows]

    async def newest_id(self, user_id: str) -> str:
        """The id of the feed's newest entry (`0-0` for an empty feed)."""
        rows: Any = await self.redis.xrevrange(feed_key(user_id), "+", "-", count=1)
        return rows[0][0].decode() if rows else "0-0"

    async def lost_since(self, user_id: str, last_id: str) -> bool:
        """Whether entries after `last_id` may be gone (trimmed, or the feed expired): the
        oldest entry kept is newer than it."""
        oldest: Any = await self.redis.xrange(feed_key(user_id), "-", "+", count=1)
        return bool(oldest) and entry_position(oldest[0][0].decode()) > entry_position(last_id)
