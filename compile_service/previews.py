"""PNG previews of page 1 of a succeeded job's PDF, made by poppler's `pdftoppm` (a
subprocess, so off the event loop, under a wall-clock limit) and cached in the artifact store
beside the PDF under the same content key: a PDF's preview is made once, on the first ask
(asks that come while it is being made wait for that run).

Errors are ApiErrors: 409 `preview_not_ready` (the job has not succeeded), 404 `pdf_gone`
(the PDF is no longer stored), 503 `preview_unavailable` with Retry-After (the artifact store
cannot be read or written, or pdftoppm is missing, fails or runs out of time)."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from compile_service.artifacts import ArtifactStore, read_whole
from runtime.http import ApiError

log = logging.getLogger(__name__)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RETRY_AFTER_SECONDS = 5


class PreviewFailed(Exception):
    """pdftoppm is missing, failed, ran out of time or wrote no PNG."""


@dataclass(frozen=True)
class Preview:
    png: bytes | None  # None: the asker's copy (If-None-Match) is this one
    etag: str  # quoted, from the PDF's content key


def preview_etag(key: str) -> str:
    return f'"{key}.page1"'


def _unavailable(why: str) -> ApiError:
    return ApiError(503, "preview_unavailable", f"the preview cannot be made now ({why}); "
                    "retry shortly", retry_after=RETRY_AFTER_SECONDS)


class Previewer:
    def __init__(self, store: ArtifactStore, pdftoppm: str = "pdftoppm", dpi: int = 72,
                 timeout_seconds: float = 10.0, max_age_seconds: int = 86400) -> None:
        self.store, self.pdftoppm = store, pdftoppm
        self.dpi, self.timeout_seconds = dpi, timeout_seconds
        self.cache_control = f"private, max-age={max_age_seconds}"
        self._making: dict[str, asyncio.Task[bytes]] = {}  # one pdftoppm per key at once

    async def of_job(self, job: Any, if_none_match: str | None = None) -> Preview:
        """The preview of page 1 of `job`'s PDF (a job row the caller owns); without its
        PNG when `if_none_match` names its ETag."""
        key = (job.result or {}).get("artifact_key")
        if job.status != "succeeded" or key is None:
            raise ApiError(409, "preview_not_ready", f"the job is {job.status}, not "
                           "succeeded; a preview exists only for a succeeded job",
                           job_status=job.status)
        etag = preview_etag(key)
        if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
            return Preview(None, etag)
        return Preview(await self.page1(key), etag)

    async def page1(self, key: str) -> bytes:
        try:
            cached = await self.store.preview(key)
        except OSError as exc:
            raise _unavailable("the artifact store cannot be read") from exc
        if cached is not None:
            return cached
        making = self._making.get(key)
        if making is None:
            making = self._making[key] = asyncio.ensure_future(self._make(key))
            making.add_done_callback(lambda task: self._made(key, task))
        return await asyncio.shield(making)  # an asker gone does not stop the others'

    def _made(self, key: str, task: "asyncio.Task[bytes]") -> None:
        self._making.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved, in case every asker had gone

    async def _make(self, key: str) -> bytes:
        try:
            pdf = await read_whole(self.store, key)
        except OSError as exc:
            raise _unavailable("the artifact store cannot be read") from exc
        if pdf is None:
            raise ApiError(404, "pdf_gone", "the PDF is no longer stored; compile again")
        try:
            png = await self.render(pdf)
        except PreviewFailed as exc:
            log.warning("preview of %s failed: %s", key, exc)
            raise _unavailable("the renderer failed") from exc
        try:
            await self.store.put_preview(key, png)
        except OSError:  # served all the same; the next ask makes it again
            log.warning("preview of %s could not be stored", key, exc_info=True)
        return png

    async def render(self, pdf: bytes) -> bytes:
        """Page 1 of `pdf` as a PNG; PreviewFailed when pdftoppm cannot make it in time."""
        command = [self.pdftoppm, "-png", "-f", "1", "-l", "1", "-r", str(self.dpi),
                   "-singlefile", "-"]  # the PDF from stdin; without a root, the PNG to stdout
        try:
            process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            raise PreviewFailed(f"cannot run {self.pdftoppm}: {exc.strerror}") from exc
        try:
            async with asyncio.timeout(self.timeout_seconds):
                out, err = await process.communicate(pdf)
        except TimeoutError as exc:
            raise PreviewFailed(f"no preview within {self.timeout_seconds:g} s") from exc
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if process.returncode != 0 or not out.startswith(PNG_MAGIC):
            raise PreviewFailed(f"pdftoppm exited {process.returncode}: "
                                f"{err.decode(errors='replace').strip()[:200]}")
        return out
