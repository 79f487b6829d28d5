"""Where a stack keeps anything, read whole, for a test that must find nothing of a person
afterwards: every table of every PostgreSQL schema (rows as text, bytea columns as bytes),
every Redis key with its value of any type, every PDF of the artifact store (also as its
text, by pdftotext, and its compressed streams inflated) and every message waiting in a
queue (peeked: taken unacknowledged, then all put back).

`found_in(blobs, needles)` says which needle shows in which blob, in the encodings the stores
use: as it is, JSON-escaped, in any case, inside gzip or zlib data."""

import gzip
import json
import re
import subprocess
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import aio_pika
import asyncpg
from redis.asyncio import Redis

from contracts.topology import CONSUMERS, dead_letter_queue

Blob = tuple[str, bytes]  # where it was found, what it holds

_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


def variants(needle: str) -> list[bytes]:
    escaped = json.dumps(needle)[1:-1]
    return sorted({needle.lower().encode(), escaped.lower().encode(),
                   needle.lower().encode("utf-16-le")})


def inflated(data: bytes) -> Iterator[bytes]:
    """`data`, and what it holds when it is gzip or zlib data."""
    yield data
    for unpack in (gzip.decompress, zlib.decompress):
        try:
            yield unpack(data)
        except (OSError, zlib.error, EOFError):
            pass


def found_in(blobs: Iterable[Blob], needles: Iterable[str]) -> list[tuple[str, str]]:
    """(needle, where) for every needle that shows in a blob."""
    wanted = {needle: variants(needle) for needle in needles}
    hits = []
    for where, data in blobs:
        texts = [t.lower() for t in inflated(data)]
        for needle, forms in wanted.items():
            if any(form in text for form in forms for text in texts):
                hits.append((needle, where))
    return hits


async def postgres_blobs(db: asyncpg.Connection) -> list[Blob]:
    """Every row of every table outside the system schemas, as text, and every bytea value."""
    tables = await db.fetch(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
        "AND table_type = 'BASE TABLE'")
    blobs: list[Blob] = []
    for schema, table in tables:
        name = f'"{schema}"."{table}"'
        for row in await db.fetch(f"SELECT t::text FROM {name} t"):
            blobs.append((name, row[0].encode()))
        for (column,) in await db.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 "
                "AND table_name = $2 AND data_type = 'bytea'", schema, table):
            for row in await db.fetch(f'SELECT "{column}" FROM {name}'):
                if row[0] is not None:
                    blobs.append((f"{name}.{column}", bytes(row[0])))
    return blobs


async def redis_blobs(redis: Redis) -> list[Blob]:
    """Every key (its name too) with its value, whatever its type."""
    blobs: list[Blob] = []
    async for key in redis.scan_iter(count=1000):
        kind = (await redis.type(key)).decode()
        values: list[bytes] = [key]
        if kind == "string":
            values.append(await redis.get(key) or b"")
        elif kind == "hash":
            for field, value in (await redis.hgetall(key)).items():  # type: ignore[misc]
                values += [field, value]
        elif kind == "list":
            values += await redis.lrange(key, 0, -1)  # type: ignore[misc]
        elif kind == "set":
            values += list(await redis.smembers(key))  # type: ignore[misc]
        elif kind == "zset":
            values += await redis.zrange(key, 0, -1)
        elif kind == "stream":
            for _, fields in await redis.xrange(key):
                for field, value in fields.items():
                    values += [field, value]
        blobs += [(f"redis {key.decode(errors='replace')}", value) for value in values]
    return blobs


def pdf_blobs(where: str, pdf: bytes) -> list[Blob]:
    """A PDF as it is, as its text and as its inflated streams (a PDF's text is compressed,
    and with embedded fonts, glyph ids: pdftotext reads it)."""
    text = subprocess.run(["pdftotext", "-q", "-", "-"], input=pdf, capture_output=True,
                          timeout=30).stdout
    return [(where, pdf), (f"{where} (text)", text),
            *((f"{where} (stream)", s) for s in _PDF_STREAM.findall(pdf))]


def artifact_blobs(root: Path) -> list[Blob]:
    """Every file under a directory artifact store (ARTIFACT_STORE=directory), PDFs read as
    PDFs."""
    blobs: list[Blob] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        blobs += pdf_blobs(str(path), data) if path.suffix == ".pdf" else [(str(path), data)]
    return blobs


async def stored_pdf_blobs(db: asyncpg.Connection) -> list[Blob]:
    """Every PDF of the PostgreSQL artifact store (the default), its chunks put together and
    read as a PDF (`postgres_blobs` has each chunk's raw bytes already)."""
    rows = await db.fetch("SELECT key, string_agg(data, ''::bytea ORDER BY seq) AS pdf "
                          "FROM compile.artifact_chunks GROUP BY key")
    return [blob for row in rows
            for blob in pdf_blobs(f"artifacts {row['key']}", bytes(row["pdf"]))]


def every_queue() -> list[str]:
    return [queue for consumer in CONSUMERS for queue in (consumer, dead_letter_queue(consumer))]


async def queue_blobs(amqp_url: str) -> list[Blob]:
    """Every message ready in every consumer's queue and dead-letter queue, body and headers,
    taken without acknowledging and put back (requeued) once all are read."""
    blobs: list[Blob] = []
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        held = []
        for name in every_queue():
            queue = await channel.declare_queue(name, passive=True)
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                held.append(message)
                blobs.append((f"queue {name}", message.body))
                blobs.append((f"queue {name} headers", repr(message.headers).encode()))
        for message in held:
            await message.nack(requeue=True)
    return blobs
