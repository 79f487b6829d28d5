"""Live updates benchmark: 1,000 idle event streams (GET /api/events) held open through the
gateway, in one run:

- the gateway's RSS before the streams, with them open, and after they closed (target:
  under 50 MB more with them open), live_service's too;
- other requests' latency (`GET /api/resume/{id}` through the gateway, wrk, 1 connection
  for the hop's p50 and 8 for throughput) without the streams, with them, and after: the
  p50 with them should stay within the noise of the rounds without;
- delivery latency of an event from its publish on the bus to the SSE client through the
  gateway (p50/p99), with the 1,000 streams open.

Run with the local services up: ``.venv/bin/python bench/live.py``. resume_service,
live_service and the gateway run as one uvicorn process each, as the Procfile runs them.
Each stream is another user's (a session each, made in Redis as a sign-in leaves it), so no
per-session cap applies; the per-address caps are raised, the bench being one address.
"""

import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aio_pika

from bench.common import Result, interleaved, open_session, uvicorn_process, wrk
from bench.resume_service import create_resume
from contracts.envelope import EventEnvelope
from contracts.resume_events import ResumeUpdated
from contracts.topology import (
    EVENTS_EXCHANGE,
    LIVE_FEED_CONSUMER,
    RESUME_PRODUCER,
    routing_key,
)
from runtime.sessions import session_cookie_name
from runtime.settings import ServiceSettings

STREAMS = 1000
LATENCY_EVENTS = 200
ROUND_SECONDS = 4
USER = "bench-live-user"
COOKIE = session_cookie_name(False)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def open_stream(host: str, port: int, session_id: str
                      ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw GET /api/events (as light as a client can be), read up to its first frame."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /api/events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
                 f"Cookie: {COOKIE}={session_id}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"a stream did not open: {head[:200]!r}")
    await reader.readuntil(b"retry: ")
    return reader, writer


async def drain(reader: asyncio.StreamReader) -> None:
    """An idle client still reads its heartbeats."""
    while await reader.read(4096):
        pass


async def sessions(redis_url: str, count: int) -> list[str]:
    return list(await asyncio.gather(*(open_session(redis_url, f"bench-live-{uuid.uuid4()}")
                                       for _ in range(count))))


async def purge_feed_queue(amqp_url: str) -> None:
    """Events queued for the feed by earlier runs are not what this measures."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(LIVE_FEED_CONSUMER, passive=True)
        await queue.purge()


async def delivery_latencies(amqp_url: str, host: str, port: int, redis_url: str,
                             count: int) -> list[float]:
    """Publish a resume save of one user on the bus; the time until that user's stream,
    through the gateway, has it. One at a time."""
    user_id = f"bench-live-{uuid.uuid4()}"
    reader, writer = await open_stream(host, port, await open_session(redis_url, user_id))
    connection = await aio_pika.connect(amqp_url)
    latencies = []
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        key = routing_key(RESUME_PRODUCER, ResumeUpdated.event_type)
        for version in range(1, count + 1):
            marker = f'"version":{version},'.encode()
            body = EventEnvelope(
                event_id=uuid.uuid4(), event_type=ResumeUpdated.event_type,
                stream_id="bench-resume", stream_version=version,
                occurred_at=datetime.now(UTC), user_id=user_id,
                payload={"resume_id": "bench-resume", "owner_id": user_id}).model_dump_json()
            started = time.perf_counter()
            await exchange.publish(aio_pika.Message(body.encode()), routing_key=key)
            seen = b""
            while marker not in seen:
                seen = seen[-64:] + await reader.read(4096)
            latencies.append((time.perf_counter() - started) * 1000)
    writer.close()
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def other_requests(label: str, url: str, cookie: dict[str, str]) -> tuple[Result, Result]:
    return (wrk(f"{label}, 1 connection", url, cookie, seconds=ROUND_SECONDS, connections=1),
            wrk(f"{label}, 8 connections", url, cookie, seconds=ROUND_SECONDS, connections=8))


def main() -> None:
    settings = ServiceSettings()
    asyncio.run(purge_feed_queue_or_none(settings.amqp_url))
    cookie = {"Cookie": f"{COOKIE}={asyncio.run(open_session(settings.redis_url, USER))}"}
    quiet = {"ACCESS_LOG": "problems"}
    with (uvicorn_process("resume_service.app:create_app", {**quiet, "READ_CACHE": "true"})
          as (resume_base, _),
          uvicorn_process("live_service.app:create_app", quiet) as (live_base, live_pid)):
        gateway_env = {**quiet, "RESUME_SERVICE_URL": resume_base, "LIVE_SERVICE_URL": live_base,
                       "RATE_LIMIT_PER_SESSION": "100000000", "RATE_LIMIT_PER_IP": "100000000",
                       "EVENT_STREAMS_PER_IP": "100000", "COOKIE_SECURE": "false"}
        with uvicorn_process("gateway.app:create_app", gateway_env) as (gateway_base,
                                                                        gateway_pid):
            url = f"{gateway_base}/api/resume/{create_resume(resume_base, USER)}"
            wrk("warm-up", url, cookie, seconds=2)
            asyncio.run(run(settings, gateway_base, url, cookie, gateway_pid, live_pid))


async def purge_feed_queue_or_none(amqp_url: str) -> None:
    try:
        await purge_feed_queue(amqp_url)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        pass  # not declared yet: nothing queued


async def run(settings: ServiceSettings, gateway_base: str, url: str,
              cookie: dict[str, str], gateway_pid: int, live_pid: int) -> None:
    host, port = gateway_base.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    without = [await loop.run_in_executor(None, other_requests, "without streams", url, cookie)
               for _ in range(2)]
    rss = {"before": (rss_mb(gateway_pid), rss_mb(live_pid))}
    ids = await sessions(settings.redis_url, STREAMS)
    started = time.perf_counter()
    opened = []
    for batch in range(0, STREAMS, 100):  # 100 at a time: what a burst of reconnects does
        opened += await asyncio.gather(*(open_stream(host, int(port), s)
                                         for s in ids[batch:batch + 100]))
    opening = time.perf_counter() - started
    draining = [asyncio.create_task(drain(reader)) for reader, _ in opened]
    await asyncio.sleep(2)
    rss["open"] = (rss_mb(gateway_pid), rss_mb(live_pid))
    with_streams = [await loop.run_in_executor(None, other_requests, "with 1,000 streams", url,
                                               cookie) for _ in range(2)]
    latencies = await delivery_latencies(settings.amqp_url, host, int(port),
                                         settings.redis_url, LATENCY_EVENTS)
    rss["open, after"] = (rss_mb(gateway_pid), rss_mb(live_pid))
    for task in draining:
        task.cancel()
    for _, writer in opened:
        writer.close()
    await asyncio.sleep(3)
    rss["closed"] = (rss_mb(gateway_pid), rss_mb(live_pid))
    after = [await loop.run_in_executor(None, other_requests, "after the streams", url, cookie)
             for _ in range(1)]
    report(without, with_streams, after, rss, opening, latencies)


def report(without: list[tuple[Result, Result]], with_streams: list[tuple[Result, Result]],
           after: list[tuple[Result, Result]], rss: dict[str, tuple[float, float]],
           opening: float, latencies: list[float]) -> None:
    print(f"{STREAMS} streams opened through the gateway in {opening:.1f} s")
    for phase, (gateway, live) in rss.items():
        print(f"RSS {phase:<12} gateway {gateway:6.1f} MB   live_service {live:6.1f} MB")
    grown = rss["open"][0] - rss["before"][0]
    print(f"gateway RSS with {STREAMS} streams open: +{grown:.1f} MB (target < 50 MB), "
          f"{grown * 1024 / STREAMS:.0f} KB a stream")
    for runs in (without, with_streams, after):
        for index in (0, 1):
            print(interleaved(runs[0][index].name, [r[index] for r in runs]).line()
                  + "   rounds p50: " + ", ".join(f"{r[index].p50_ms:.2f}" for r in runs))
    print(f"delivery, bus publish to SSE client through the gateway ({len(latencies)} events, "
          f"{STREAMS} streams open): p50 {statistics.median(latencies):.2f} ms, "
          f"p99 {percentile(latencies, 0.99):.2f} ms")


if __name__ == "__main__":
    main()
