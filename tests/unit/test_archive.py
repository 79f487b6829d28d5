"""runtime/archive.py: entries from bytes and from chunks, the README listing each file,
and the size bound checked while a large entry is still being copied."""

import io
import tempfile
import zipfile
from collections.abc import AsyncIterator

import pytest

from runtime.archive import ArchiveEntry, ArchiveTooLarge, ArchiveWriter, json_entry


def chunks(count: int, size: int) -> AsyncIterator[bytes]:
    async def produce() -> AsyncIterator[bytes]:
        for n in range(count):
            yield bytes([n % 256]) * size
    return produce()


async def test_entries_are_written_whole_and_listed_in_the_readme() -> None:
    target = io.BytesIO()
    with ArchiveWriter(target, max_bytes=10**6) as writer:
        await writer.add(json_entry("a/data.json", "some data", {"k": [1, 2]}))
        await writer.add(ArchiveEntry("b/file.pdf", "a file", chunks=lambda: chunks(4, 1000),
                                      compress=False))
        assert writer.finish("Title", "What it is.") == 3
    with zipfile.ZipFile(target) as opened:
        assert opened.read("a/data.json") == b'{\n  "k": [\n    1,\n    2\n  ]\n}'
        assert opened.read("b/file.pdf") == b"".join(bytes([n]) * 1000 for n in range(4))
        assert opened.getinfo("b/file.pdf").compress_type == zipfile.ZIP_STORED
        readme = opened.read("README.md").decode()
    assert readme.startswith("# Title\n\nWhat it is.\n")
    assert "- `a/data.json`: some data\n- `b/file.pdf`: a file\n" in readme


async def test_a_large_entry_stops_at_the_bound_while_it_is_copied() -> None:
    copied = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal copied
        for _ in range(1000):
            copied += 1
            yield b"x" * 10_000

    with (tempfile.TemporaryFile() as target,
          ArchiveWriter(target, max_bytes=50_000) as writer,
          pytest.raises(ArchiveTooLarge, match="over 50000 bytes")):
        await writer.add(ArchiveEntry("big.bin", "big", chunks=counted, compress=False))
    assert copied <= 6
