"""runtime.scripts.HotScript on the real Redis: replies as redis-py's own script call gives
them, a script the server forgot is loaded again, an error reply leaves the connection usable."""

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from runtime.scripts import HotScript
from tests.conftest import REDIS_URL

INCR_AND_ECHO = "return {redis.call('INCR', KEYS[1]), ARGV[1]}"


async def test_replies_match_redis_pys_own_script_call() -> None:
    redis = Redis.from_url(REDIS_URL)
    key = f"test:scripts:{uuid.uuid4()}"
    try:
        hot, plain = HotScript(redis, INCR_AND_ECHO), redis.register_script(INCR_AND_ECHO)
        assert await hot(keys=[key], args=["a"]) == [1, b"a"]
        assert await plain(keys=[key], args=["a"]) == [2, b"a"]
        replies = await asyncio.gather(*(hot(keys=[key], args=[str(i)]) for i in range(20)))
        assert [echo for _, echo in replies] == [str(i).encode() for i in range(20)]
        assert sorted(count for count, _ in replies) == list(range(3, 23))
    finally:
        await redis.delete(key)
        await redis.aclose()


async def test_a_script_the_server_forgot_is_loaded_again() -> None:
    redis = Redis.from_url(REDIS_URL)
    key = f"test:scripts:{uuid.uuid4()}"
    try:
        hot = HotScript(redis, INCR_AND_ECHO + " -- " + key)  # a script only this test knows
        assert await hot(keys=[key], args=["x"]) == [1, b"x"]
        await redis.script_flush()  # what a Redis restart does to the script cache
        assert await hot(keys=[key], args=["y"]) == [2, b"y"]
        assert await hot(keys=[key], args=["z"]) == [3, b"z"]
    finally:
        await redis.delete(key)
        await redis.aclose()


async def test_an_error_reply_is_raised_and_the_connection_stays_usable() -> None:
    redis = Redis.from_url(REDIS_URL, max_connections=1)  # every call reuses one connection
    try:
        failing = HotScript(redis, "return redis.error_reply('no such thing')")
        with pytest.raises(ResponseError, match="no such thing"):
            await failing(keys=[], args=[])
        assert await HotScript(redis, "return ARGV[1]")(keys=[], args=["still fine"]) == (
            b"still fine")
    finally:
        await redis.aclose()
