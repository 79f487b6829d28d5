"""Thumbnails of the templates: page 1 of each template rendered on the built-in sample resume
(compile_service.sample_resume) at its default options, as a PNG.

A thumbnail is the preview (compile_service.previews) of an ordinary artifact: the sample's
PDF is compiled like a job's, stored under its content key (the hash of engine, template
files and sample), and its page 1 made by pdftoppm and stored beside it. So a thumbnail is
made once per template content, survives restarts and is shared by every process using the
store; a template or sample that changes gets a new key, hence a new thumbnail and ETag.
The worker makes the missing ones when it starts (`make_all`), so the first ask finds them
stored; an ask that comes first makes it itself (one run per template at once).

Errors are ApiErrors: 404 `template_not_found`, 503 `thumbnail_unavailable` with
Retry-After (the template does not compile, the engine or the store is down, pdftoppm
failed). A template that failed to compile is not tried again for RETRY_FAILED_SECONDS, so
asks for a broken template cost nothing."""

import asyncio
import logging
import math
import time

from compile_service.compiler import Compiler, Prepared
from compile_service.domain import UnknownTemplate
from compile_service.previews import Preview, Previewer, preview_etag
from compile_service.sample_resume import sample_resume
from runtime.http import ApiError

log = logging.getLogger(__name__)

RETRY_FAILED_SECONDS = 30.0
THUMBNAIL_JOB = "thumbnail"  # the job id its (never recorded) finish carries


def _unavailable(why: str, retry_after: int) -> ApiError:
    return ApiError(503, "thumbnail_unavailable", f"the thumbnail cannot be made now ({why}); "
                    "retry shortly", retry_after=retry_after)


class Thumbnails:
    def __init__(self, compiler: Compiler, previews: Previewer) -> None:
        self.compiler, self.previews = compiler, previews
        self.cache_control = previews.cache_control
        self._prepared: dict[str, Prepared] = {}
        self._making: dict[str, asyncio.Task[None]] = {}  # one compile per template at once
        self._failed_until: dict[str, float] = {}

    def names(self) -> list[str]:
        return list(self.compiler.renderer.templates)

    def prepared(self, name: str) -> Prepared:
        """The sample's source in template `name` and its content key (rendered once)."""
        if name not in self._prepared:
            try:
                self._prepared[name] = self.compiler.prepare(name, sample_resume())
            except UnknownTemplate:
                raise ApiError(404, "template_not_found", f"there is no template {name}") \
                    from None
        return self._prepared[name]

    def etag(self, name: str) -> str:
        return preview_etag(self.prepared(name).key)

    async def of_template(self, name: str, if_none_match: str | None = None) -> Preview:
        """The thumbnail of template `name`; without its PNG when `if_none_match` names its
        ETag."""
        etag = self.etag(name)
        if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
            return Preview(None, etag)
        return Preview(await self.png(name), etag)

    async def png(self, name: str) -> bytes:
        prepared = self.prepared(name)
        try:
            stored = await self.compiler.artifacts.preview(prepared.key)
        except OSError as exc:
            raise _unavailable("the artifact store cannot be read", 5) from exc
        if stored is not None:
            return stored
        await self._pdf(name, prepared)
        try:
            return await self.previews.page1(prepared.key)
        except ApiError as error:
            raise _unavailable("the preview cannot be made", 5) from error

    async def make_all(self) -> None:
        """Every template's thumbnail that is not stored yet, one after the other (a
        background task: what fails is logged, and made again on its first ask)."""
        for name in self.names():
            try:
                await self.png(name)
            except ApiError as error:
                log.warning("thumbnail of %s not made: %s", name, error.message)

    async def _pdf(self, name: str, prepared: Prepared) -> None:
        """The sample's PDF in the store, compiled unless it is there already."""
        failed_until = self._failed_until.get(name, 0.0)
        if (wait := failed_until - time.monotonic()) > 0:
            raise _unavailable("the template did not compile", math.ceil(wait))
        making = self._making.get(name)
        if making is None:
            making = self._making[name] = asyncio.ensure_future(self._compile(name, prepared))
            making.add_done_callback(lambda task: self._made(name, task))
        await asyncio.shield(making)  # an asker gone does not stop the others'

    def _made(self, name: str, task: "asyncio.Task[None]") -> None:
        self._making.pop(name, None)
        if not task.cancelled():
            task.exception()  # retrieved, in case every asker had gone

    async def _compile(self, name: str, prepared: Prepared) -> None:
        try:
            finished = await self.compiler.run(THUMBNAIL_JOB, prepared)
            self.compiler.check_ats(THUMBNAIL_JOB)
        except Exception as exc:  # the engine or the store is down: worth a retry soon
            log.warning("thumbnail of %s not compiled: %r", name, exc)
            raise _unavailable("the compiler is unavailable", 5) from exc
        if finished.outcome != "succeeded":
            self._failed_until[name] = time.monotonic() + RETRY_FAILED_SECONDS
            log.warning("template %s does not compile the sample resume", name)
            raise _unavailable("the template did not compile", math.ceil(RETRY_FAILED_SECONDS))
