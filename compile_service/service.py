"""Use cases of compile_service. A compile request reads the resume version from the
replica, renders it (once per version, template and options: the content key is kept), and
records a job (runtime.jobs): an identical queued or running job is returned instead, and a
job whose PDF is already stored is finished in the same transaction, without a worker.

A Typst job is compiled by the request itself while one of the process's `in_request` slots
is free (`InRequest`): a render takes milliseconds, and a trip through the queue to a worker
(relay, broker, claim, close, the long poll's wake-up) costs several times that. The job is
then recorded requested, started and finished in one transaction; the worker that receives
its request finds it finished and does nothing. When every slot is busy, or the engine is
not available here, the job is queued for the workers as any other."""

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from compile_service.analysis import AtsStatus
from compile_service.compiler import Compiler, Prepared
from compile_service.domain import VersionNotAvailable
from compile_service.manifests import OptionValue
from compile_service.metrics import observe_compile
from compile_service.rendering import TYPST_ENGINE
from compile_service.tables import resume_replica
from compile_service.typesetting.engine import EngineUnavailable
from contracts.compile_events import CompileFinished, CompileRequested
from contracts.resume import ResumeDocument
from contracts.share_events import ContactField, hidden_left_out
from runtime.http import ApiError
from runtime.jobs import TERMINAL, Jobs, worker_name
from runtime.replica import ResumeNotFound, live_document, owned_version, wait_for_version

log = logging.getLogger(__name__)
SOURCES_KEPT = 4096  # (resume version, template, options) -> source; some 200 bytes each
SHARE_PDFS_KEPT = 4096  # a share file's source -> its PDF's content key
SHARE_WAIT_SECONDS = 20.0
SHARE_RETRY_AFTER_SECONDS = 2


@dataclass(frozen=True)
class Source:
    """What a request needs of its rendered source: the template and options it resolved
    to, the engine, the content key and the resume's title."""

    template: str
    options: dict[str, OptionValue]
    engine: str
    key: str
    title: str


class InRequest:
    """Typst compiles run by the request that asks for them, `slots` at a time."""

    def __init__(self, compiler: Compiler, slots: int) -> None:
        self.compiler, self.slots, self.busy = compiler, slots, 0
        self.worker = f"{worker_name()}:request"

    def takes(self, engine: str) -> bool:
        return engine == TYPST_ENGINE and self.busy < self.slots

    async def compile(self, job_id: str, prepared: Prepared,
                      template: str) -> CompileFinished | None:
        """The outcome; None when the job is the workers' after all (the engine is not
        available in this process: no fonts, no free thread), or the store failed."""
        self.busy += 1
        started = time.perf_counter()
        try:
            # the request looked in the store a moment ago
            finished = await self.compiler.run(job_id, prepared, look_in_store=False)
        except EngineUnavailable as exc:
            log.warning("Typst unavailable in this process (%s); the job is queued", exc)
            return None
        except OSError as exc:  # the artifact store: the workers retry it
            log.warning("compile in the request failed (%r); the job is queued", exc)
            return None
        finally:
            self.busy -= 1
        observe_compile(template, finished.outcome, time.perf_counter() - started)
        return finished


class CompileService:
    def __init__(self, jobs: Jobs, compiler: Compiler, version_wait_seconds: float,
                 in_request: int = 0) -> None:
        self.jobs, self.compiler = jobs, compiler
        self.version_wait_seconds = version_wait_seconds
        self.in_request = InRequest(compiler, in_request)
        # a version's document never changes, nor do the templates while the process
        # runs: a version asked for again (a cached compile) is not rendered again
        self._sources: OrderedDict[tuple[str, int, str | None, bytes, tuple[str, ...]],
                                   Source] = OrderedDict()
        self._share_pdfs: OrderedDict[str, str] = OrderedDict()

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.jobs.sessions

    async def request(self, owner_id: str, resume_id: str, version: int | None,
                      template: str | None, options: Mapping[str, object] | None = None,
                      hidden: tuple[ContactField, ...] = ()) -> tuple[Any, bool]:
        """The job for this source (a new one, or the queued or running one) and whether
        it is new; InvalidOptions when `options` are not the template's. `hidden`: contact
        fields left out (a share's)."""
        resume = await self._resume(owner_id, resume_id, version)
        source, prepared = self._source(resume, template, options, hidden)
        job_id = self.jobs.new_id()
        requested = CompileRequested(
            job_id=job_id, owner_id=owner_id, resume_id=resume_id,
            resume_version=resume.version, template=source.template, engine=source.engine,
            title=source.title, options=source.options, hidden=list(hidden))
        finished = await self.compiler.from_store(job_id, source.key)
        if finished is not None or not self.in_request.takes(source.engine):
            return await self.jobs.request(requested, finished)
        prepared = prepared or self._prepare(resume.document, source, hidden)
        finished = await self.in_request.compile(job_id, prepared, source.template)
        try:
            return await self.jobs.request(requested, finished,
                                           run_by=self.in_request.worker if finished else None)
        finally:
            self.compiler.check_ats(job_id)  # once recorded, or at least tried

    async def share_pdf(self, owner_id: str, resume_id: str, version: int, template: str,
                        options: Mapping[str, object],
                        hidden: tuple[ContactField, ...]) -> str:
        """The content key of a share's PDF, compiled for its owner: the key found last time
        while its PDF is still stored (no job then), else a new job's, waited for. ApiError
        422 when it failed, 503 while it still runs after a while."""
        memo = json.dumps([resume_id, version, template, options, hidden], sort_keys=True)
        if (key := self._share_pdfs.get(memo)) is not None and await self.compiler.stored(key):
            return key
        row, _ = await self.request(owner_id, resume_id, version, template, options, hidden)
        if row.status not in TERMINAL:
            row = await self.jobs.wait_owned(owner_id, row.job_id, SHARE_WAIT_SECONDS)
        if row.status == "failed":
            raise ApiError(422, "share_compile_failed", "the share's PDF could not be "
                           "compiled", error_code=row.error_code)
        if row.status != "succeeded":
            raise ApiError(503, "share_compile_pending", "the share's PDF is still being "
                           "compiled; retry shortly", retry_after=SHARE_RETRY_AFTER_SECONDS)
        key = str(row.result["artifact_key"])
        self._share_pdfs[memo] = key
        if len(self._share_pdfs) > SHARE_PDFS_KEPT:
            self._share_pdfs.popitem(last=False)
        return key

    def _source(self, resume: Any, template: str | None, options: Mapping[str, object] | None,
                hidden: tuple[ContactField, ...]) -> tuple[Source, Prepared | None]:
        """What the request resolved to, with the rendered source when it was rendered now
        (None when the memo knew it)."""
        # json, not orjson: options are not validated yet, and may hold integers over 64 bits
        memo = (resume.resume_id, resume.version, template,
                json.dumps(options or {}, sort_keys=True).encode(), hidden)
        if (source := self._sources.get(memo)) is not None:
            self._sources.move_to_end(memo)
            return source, None
        document = shown(resume.document, hidden)
        chosen = self.compiler.choose_template(template, document)
        resolved = self.compiler.resolve(chosen, options)
        prepared = self.compiler.prepare(chosen, document, resolved)
        source = Source(chosen, resolved, prepared.engine.name, prepared.key, document.title)
        self._sources[memo] = source
        if len(self._sources) > SOURCES_KEPT:
            self._sources.popitem(last=False)
        return source, prepared

    def _prepare(self, document: dict[str, Any], source: Source,
                 hidden: tuple[ContactField, ...]) -> Prepared:
        return self.compiler.prepare(source.template, shown(document, hidden), source.options)

    async def _resume(self, owner_id: str, resume_id: str, version: int | None) -> Any:
        # a resume created a moment ago may still be on its way from resume_service
        row = await wait_for_version(self.sessions, resume_replica, owner_id, resume_id,
                                     version, self.version_wait_seconds)
        if row is not None and row.document is not None:
            return row
        async with self.sessions() as session:
            head = await owned_version(session, resume_replica, owner_id, resume_id)
        if head is None or head.document is None:
            raise ResumeNotFound(resume_id)
        raise VersionNotAvailable(head.version)

    async def ats_of(self, row: Any) -> tuple[dict[str, Any] | None, AtsStatus | None]:
        """A job's ATS report and where it stands: recorded with its finish (jobs before
        reports were made after), stored beside its PDF, or still to come; None for a job
        that did not succeed."""
        result = row.result or {}
        if row.status != "succeeded" or not result.get("artifact_key"):
            return None, None
        if result.get("ats") is not None:
            return result["ats"], "ready"
        request = row.input
        return await self.compiler.ats_reports.of(
            result["artifact_key"], row.finished_at.timestamp(),
            lambda: self.document_at(row.owner_id, row.resume_id, request["resume_version"],
                                     request.get("hidden", [])))

    async def document_at(self, owner_id: str, resume_id: str, version: int,
                          hidden: Sequence[ContactField] = ()) -> ResumeDocument | None:
        """The document a job compiles, without the `hidden` contact fields; None when the
        resume was deleted meanwhile."""
        document = await live_document(self.sessions, resume_replica, owner_id, resume_id,
                                       version)
        return None if document is None else shown(document, hidden)


def shown(document: dict[str, Any], hidden: Sequence[ContactField]) -> ResumeDocument:
    return ResumeDocument.model_validate(hidden_left_out(document, list(hidden))
                                         if hidden else document)
