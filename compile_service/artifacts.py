"""The artifact store: PDFs by content address (the hex SHA-256 of engine, template and
rendered source), behind a small interface (`ArtifactStore`) so that an object store (S3) can
follow. `PostgresStore` is the default: every compile worker and HTTP instance reaches it, so a
PDF rendered by a worker in one container is served by the HTTP process in another.
`DirectoryStore` keeps them in a local directory (one machine only). Either way a reader never
sees half a PDF and two workers storing the same key at once both succeed. Artifacts are
derived data: one lost answers 404 `pdf_gone` and is simply compiled again."""

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import orjson
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from compile_service.tables import artifact_chunks, artifacts

_KEY = re.compile(r"^[0-9a-f]{64}$")
CHUNK_BYTES = 64 * 1024


class ArtifactStore(Protocol):
    async def has(self, key: str) -> bool: ...

    async def stored(self, key: str) -> dict[str, Any] | None:
        """The figures of the PDF stored under `key` ({} without any); None when no PDF is
        stored there."""
        ...

    async def put(self, key: str, data: bytes, figures: dict[str, Any] | None = None) -> None:
        """The PDF stored under `key`, with its `figures` (stored first, or at once: a stored
        PDF has them); nothing changes when it was stored already."""
        ...

    async def size(self, key: str) -> int | None: ...

    def chunks(self, key: str) -> AsyncIterator[bytes]: ...

    async def put_figures(self, key: str, figures: dict[str, Any]) -> None:
        """What is known of the PDF under `key` (pages, overflow, ATS report), stored before
        the PDF so that a stored PDF has its figures."""
        ...

    async def figures(self, key: str) -> dict[str, Any] | None:
        """The figures stored with the PDF under `key`; None without them."""
        ...

    async def put_preview(self, key: str, png: bytes) -> None:
        """The PNG of page 1 of the PDF under `key` (compile_service.previews)."""
        ...

    async def preview(self, key: str) -> bytes | None:
        """The stored PNG of page 1 of the PDF under `key`; None when not made yet."""
        ...

    async def delete(self, key: str) -> None:
        """The PDF under `key` gone, with its figures and preview (an account erasure);
        nothing when it is not stored."""
        ...


class ArtifactMissing(FileNotFoundError):
    """No PDF is stored under the key (the directory store raises FileNotFoundError too)."""


class ArtifactStoreUnavailable(OSError):
    """The store cannot be read or written now (its database is down or failing): an OSError,
    as the directory store's failures are, for the callers that degrade on one (previews)."""


def unavailable(what: str, cause: BaseException) -> ArtifactStoreUnavailable:
    # with the database's frames, so that runtime.http.dependency_of names the database and
    # a route answers 503 with Retry-After; the class name only: a DBAPIError's text carries
    # the statement's parameters
    error = ArtifactStoreUnavailable(f"the artifact store cannot be {what}: "
                                     f"{type(cause).__name__}")
    return error.with_traceback(cause.__traceback__)


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError("artifact keys are 64 lowercase hex digits")
    return key


class DirectoryStore:
    """`<root>/<first two hex digits>/<key>.pdf`, its figures beside it in `<key>.json` and
    the PNG of its page 1, once asked for, in `<key>.page1.png`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / f"{key}.pdf"

    async def has(self, key: str) -> bool:
        return self._path(key).is_file()

    async def stored(self, key: str) -> dict[str, Any] | None:
        if not await self.has(key):
            return None
        return await self.figures(key) or {}

    async def put_figures(self, key: str, figures: dict[str, Any]) -> None:
        await asyncio.to_thread(self._write, self._path(key).with_suffix(".json"),
                                orjson.dumps(figures))

    async def figures(self, key: str) -> dict[str, Any] | None:
        try:
            data = await asyncio.to_thread(self._path(key).with_suffix(".json").read_bytes)
            figures = orjson.loads(data)
        except (FileNotFoundError, orjson.JSONDecodeError):
            return None
        return figures if isinstance(figures, dict) else None

    def preview_path(self, key: str) -> Path:
        return self._path(key).with_suffix(".page1.png")

    async def put_preview(self, key: str, png: bytes) -> None:
        await asyncio.to_thread(self._write, self.preview_path(key), png)

    async def preview(self, key: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self.preview_path(key).read_bytes)
        except FileNotFoundError:
            return None

    async def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    async def put(self, key: str, data: bytes, figures: dict[str, Any] | None = None) -> None:
        if figures is not None and not await self.has(key):
            await self.put_figures(key, figures)
        await asyncio.to_thread(self._write, self._path(key), data)

    async def delete(self, key: str) -> None:
        pdf = self._path(key)
        for path in (pdf.with_suffix(".json"), self.preview_path(key), pdf):
            await asyncio.to_thread(path.unlink, missing_ok=True)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)  # no fsync: a PDF lost in a crash is recompiled
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        with self._path(key).open("rb") as handle:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk


async def read_whole(store: ArtifactStore, key: str) -> bytes | None:
    """The whole PDF under `key`, or None when it is not stored (or went in between)."""
    try:
        return b"".join([chunk async for chunk in store.chunks(key)])
    except FileNotFoundError:  # ArtifactMissing too
        return None


STORED_CHUNK_BYTES = 256 * 1024


# A PDF and its figures in one statement (in autocommit: one round trip). The row's insert
# sets `size`, or its conflict takes the row's lock and sets it only while it is unset, so
# the second of two writers of a key waits for the first, finds it stored and writes
# nothing (deduplicated by key); the chunks go in only with a row that this statement
# stored, so a reader sees a whole PDF or none. Figures not given keep the row's.
_PUT = """
WITH stored AS (
    INSERT INTO {artifacts} AS a (key, figures, size, chunk_count, stored_at)
    VALUES ($1, $2::jsonb, $3, $4, now())
    ON CONFLICT (key) DO UPDATE SET figures = coalesce(excluded.figures, a.figures),
        size = excluded.size, chunk_count = excluded.chunk_count, stored_at = now()
    WHERE a.size IS NULL
    RETURNING a.key
)
INSERT INTO {chunks} (key, seq, data)
SELECT stored.key, c.seq - 1, c.data
FROM stored CROSS JOIN unnest($5::bytea[]) WITH ORDINALITY AS c(data, seq)
ON CONFLICT (key, seq) DO UPDATE SET data = excluded.data
"""


class PostgresStore:
    """`compile.artifacts` (one row per key: size once the PDF is complete, figures, page-1
    PNG) and `compile.artifact_chunks` (the PDF's bytes, one bytea per 256 KiB chunk),
    written together by one statement (`_PUT`). Read back one chunk per query, so a slow
    download holds no connection between chunks."""

    def __init__(self, db: AsyncEngine) -> None:
        self.db = db
        t = artifacts
        self._put_sql = _PUT.format(artifacts=f"{t.schema}.{t.name}",
                                    chunks=f"{artifact_chunks.schema}.{artifact_chunks.name}")
        self._size = select(t.c.size).where(t.c.key == bindparam("p_key"))
        self._stored = select(t.c.size, t.c.figures).where(t.c.key == bindparam("p_key"))
        self._figures = select(t.c.figures).where(t.c.key == bindparam("p_key"))
        self._preview = select(t.c.preview).where(t.c.key == bindparam("p_key"))
        self._set_figures = insert(t).values(
            key=bindparam("p_key"), figures=bindparam("p_figures", type_=JSONB))
        self._set_figures = self._set_figures.on_conflict_do_update(
            index_elements=[t.c.key], set_={"figures": self._set_figures.excluded.figures})
        self._set_preview = insert(t).values(key=bindparam("p_key"),
                                             preview=bindparam("p_preview"))
        self._set_preview = self._set_preview.on_conflict_do_update(
            index_elements=[t.c.key], set_={"preview": self._set_preview.excluded.preview})
        c = artifact_chunks
        self._drop_chunks = c.delete().where(c.c.key == bindparam("p_key"))
        self._chunk = select(c.c.data).where(c.c.key == bindparam("p_key"),
                                             c.c.seq == bindparam("p_seq"))
        self._count = select(t.c.chunk_count).where(t.c.key == bindparam("p_key"),
                                                    t.c.size.is_not(None))

    async def _scalar(self, statement: Any, **params: Any) -> Any:
        try:
            async with self.db.connect() as connection:
                return await connection.scalar(statement, params)
        except (DBAPIError, OSError) as exc:
            raise unavailable("read", exc) from exc

    async def _write(self, statement: Any, **params: Any) -> None:
        try:
            async with self.db.begin() as connection:
                await connection.execute(statement, params)
        except (DBAPIError, OSError) as exc:
            raise unavailable("written", exc) from exc

    async def has(self, key: str) -> bool:
        return await self.size(key) is not None

    async def size(self, key: str) -> int | None:
        size = await self._scalar(self._size, p_key=check_key(key))
        return int(size) if size is not None else None

    async def stored(self, key: str) -> dict[str, Any] | None:
        try:
            async with self.db.connect() as connection:
                row = (await connection.execute(self._stored, {"p_key": check_key(key)})
                       ).first()
        except (DBAPIError, OSError) as exc:
            raise unavailable("read", exc) from exc
        if row is None or row.size is None:
            return None
        return row.figures if isinstance(row.figures, dict) else {}

    async def put(self, key: str, data: bytes, figures: dict[str, Any] | None = None) -> None:
        check_key(key)
        pieces = [data[at:at + STORED_CHUNK_BYTES]
                  for at in range(0, len(data), STORED_CHUNK_BYTES)] or [b""]
        try:
            async with self.db.connect() as connection:
                driver = (await connection.get_raw_connection()).driver_connection
                assert driver is not None
                await driver.execute(self._put_sql, key,
                                     None if figures is None else orjson.dumps(figures).decode(),
                                     len(data), len(pieces), pieces)
        except (DBAPIError, OSError, asyncpg.PostgresError) as exc:
            raise unavailable("written", exc) from exc

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        count = await self._scalar(self._count, p_key=check_key(key))
        if count is None:
            raise ArtifactMissing(key)
        for seq in range(count):
            chunk = await self._scalar(self._chunk, p_key=key, p_seq=seq)
            if chunk is None:
                raise ArtifactMissing(key)
            yield bytes(chunk)

    async def put_figures(self, key: str, figures: dict[str, Any]) -> None:
        await self._write(self._set_figures, p_key=check_key(key), p_figures=figures)

    async def figures(self, key: str) -> dict[str, Any] | None:
        figures = await self._scalar(self._figures, p_key=check_key(key))
        return figures if isinstance(figures, dict) else None

    async def put_preview(self, key: str, png: bytes) -> None:
        await self._write(self._set_preview, p_key=check_key(key), p_preview=png)

    async def preview(self, key: str) -> bytes | None:
        png = await self._scalar(self._preview, p_key=check_key(key))
        return bytes(png) if png is not None else None

    async def delete(self, key: str) -> None:
        check_key(key)
        try:
            async with self.db.begin() as connection:
                await connection.execute(self._drop_chunks, {"p_key": key})
                await connection.execute(artifacts.delete().where(artifacts.c.key == key))
        except (DBAPIError, OSError) as exc:
            raise unavailable("written", exc) from exc


def artifact_store(kind: str, directory: str | Path, db: AsyncEngine) -> ArtifactStore:
    """The store ARTIFACT_STORE names (`postgres`, or `directory` at ARTIFACTS_DIR). Here and
    not in the wiring, so that a process without the engines (the export worker, in the app
    image, which has no TeX nor Typst) can read the PDFs."""
    return DirectoryStore(directory) if kind == "directory" else PostgresStore(db)
