"""A zip archive built entry by entry into a file, bounded in size: what a data export
(auth_service/exports.py, ops/export_worker.py) writes. Large entries (PDFs) are copied
chunk by chunk, so no entry is ever held whole in memory; the archive grows in a temporary
file, never in memory. A README.md at the end lists every file with what it holds."""

import contextlib
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.eventstore import EventTables, row_to_envelope


class ArchiveTooLarge(Exception):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the archive would be over {max_bytes} bytes")
        self.max_bytes = max_bytes


@dataclass(frozen=True)
class ArchiveEntry:
    """One file of the archive: its bytes, or a way to read them in chunks."""

    path: str
    about: str  # one line of the README
    data: bytes | None = None
    chunks: Callable[[], AsyncIterator[bytes]] | None = None
    compress: bool = True  # False for what is compressed already (PDFs)


def json_entry(path: str, about: str, value: Any) -> ArchiveEntry:
    return ArchiveEntry(path, about, orjson.dumps(value, option=orjson.OPT_INDENT_2))


def rows_as_dicts(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """SQLAlchemy rows as JSON-ready dicts (a column's name is SQLAlchemy's `quoted_name`, a
    str subclass orjson refuses as a key)."""
    return [{str(k): v for k, v in row._mapping.items()} for row in rows]


async def stream_histories(connection: AsyncConnection, tables: EventTables,
                           stream_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Every stored event of each stream, in order, as today's code reads it (upcast), as
    JSON-ready envelopes."""
    ids = sorted(set(stream_ids))
    histories: dict[str, list[dict[str, Any]]] = {stream_id: [] for stream_id in ids}
    if not ids:
        return histories
    ev = tables.events
    query = (select(ev).where(ev.c.stream_id.in_(ids))
             .order_by(ev.c.stream_id, ev.c.stream_version))
    for row in await connection.execute(query):
        histories[row.stream_id].append(row_to_envelope(row).model_dump(mode="json"))
    return histories


class ArchiveWriter:
    """Write entries into `target` (a binary file) as a zip; `ArchiveTooLarge` as soon as the
    file grows past `max_bytes`. Used as a context manager: an archive left unfinished (a
    failure) is closed at the end of the block, its file then good for nothing."""

    def __init__(self, target: IO[bytes], max_bytes: int) -> None:
        self._target, self.max_bytes = target, max_bytes
        self._zip = zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self.listed: list[tuple[str, str]] = []

    def __enter__(self) -> "ArchiveWriter":
        return self

    def __exit__(self, *_: object) -> None:
        if self._zip.fp is not None:  # not finished
            with contextlib.suppress(ValueError, OSError):
                self._zip.close()

    def _check_size(self) -> None:
        if self._target.tell() > self.max_bytes:
            raise ArchiveTooLarge(self.max_bytes)

    async def add(self, entry: ArchiveEntry) -> None:
        method = zipfile.ZIP_DEFLATED if entry.compress else zipfile.ZIP_STORED
        if entry.data is not None:
            self._zip.writestr(zipfile.ZipInfo(entry.path, _EPOCH), entry.data, method)
        else:
            assert entry.chunks is not None, f"{entry.path}: neither data nor chunks"
            info = zipfile.ZipInfo(entry.path, _EPOCH)
            info.compress_type = method
            with self._zip.open(info, "w", force_zip64=True) as handle:
                async for chunk in entry.chunks():
                    handle.write(chunk)
                    self._check_size()
        self.listed.append((entry.path, entry.about))
        self._check_size()

    def finish(self, title: str, preamble: str) -> int:
        """Write README.md (`title`, `preamble`, then each file) and close; the number of
        files in the archive, README included."""
        lines = [f"# {title}", "", preamble.strip(), "", "## Files", ""]
        lines += [f"- `{path}`: {about}" for path, about in self.listed]
        self._zip.writestr(zipfile.ZipInfo("README.md", _EPOCH),
                           "\n".join(lines) + "\n")
        self._zip.close()
        self._check_size()
        return len(self.listed) + 1


# zip timestamps must be given; the real times are inside the files
_EPOCH = (1980, 1, 1, 0, 0, 0)
