"""The artifact store: PDFs by content address (the hex SHA-256 of engine, template and
rendered source), behind a small interface so an object store can replace the directory.
Writes are atomic (temporary file, then rename), so a reader never sees half a PDF and two
workers storing the same key at once both succeed. Artifacts are derived data: one lost in
a machine crash answers 404 `pdf_gone` and is simply compiled again, so writes skip fsync."""

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import orjson

_KEY = re.compile(r"^[0-9a-f]{64}$")
CHUNK_BYTES = 64 * 1024


class ArtifactStore(Protocol):
    async def has(self, key: str) -> bool: ...

    async def put(self, key: str, data: bytes) -> None: ...

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

    async def put(self, key: str, data: bytes) -> None:
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
    except FileNotFoundError:
        return None
