"""Lua scripts that run on every request (the gateway's session check, the read cache), sent
straight on a connection of the client's own pool.

redis-py's command layer (retry wrapper, argument checks, response callbacks) costs about a
third of such a call on these machines. This sends EVALSHA and reads the reply with the same
connection and parser: errors are still redis-py's (RedisError), a connection that failed or
was interrupted mid-reply is closed rather than reused, and a script the server does not know
(NOSCRIPT, after a Redis restart) goes once through redis-py's own call, which loads it.
"""

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, ResponseError


class HotScript:
    def __init__(self, redis: Redis, source: str) -> None:
        self._script = redis.register_script(source)
        self._pool = redis.connection_pool

    async def __call__(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        connection = await self._pool.get_connection()
        try:
            await connection.send_command("EVALSHA", self._script.sha, len(keys), *keys, *args)
            return await connection.read_response()
        except NoScriptError:
            pass  # the connection is fine; load the script below
        except ResponseError:
            raise  # an error reply of the script: the connection is fine too
        except BaseException:
            await connection.disconnect(nowait=True)  # a reply may be half read
            raise
        finally:
            await self._pool.release(connection)
        return await self._script(keys=keys, args=args)
