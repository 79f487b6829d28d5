"""Use cases of compile_service. A compile request reads the resume version from the
replica, renders it (once per version, template and options: the content key is kept), and
records a job (runtime.jobs): an identical queued or running job is returned instead, and a
job whose PDF is already stored is finished in the same transaction, without a worker."""

import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from compile_service.analysis import AtsStatus
from compile_service.compiler import Compiler
from compile_service.domain import VersionNotAvailable
from compile_service.manifests import OptionValue
from compile_service.tables import resume_replica
from contracts.compile_events import CompileRequested
from contracts.resume import ResumeDocument
from runtime.jobs import Jobs
from runtime.replica import ResumeNotFound, live_document, owned_version, wait_for_version

SOURCES_KEPT = 4096  # (resume version, template, options) -> source; some 200 bytes each


@dataclass(frozen=True)
class Source:
    """What a request needs of its rendered source: the template and options it resolved
    to, the engine, the content key and the resume's title."""

    template: str
    options: dict[str, OptionValue]
    engine: str
    key: str
    title: str


class CompileService:
    def __init__(self, jobs: Jobs, compiler: Compiler, version_wait_seconds: float) -> None:
        self.jobs, self.compiler = jobs, compiler
        self.version_wait_seconds = version_wait_seconds
        # a version's document never changes, nor do the templates while the process
        # runs: a version asked for again (a cached compile) is not rendered again
        self._sources: OrderedDict[tuple[str, int, str | None, bytes], Source] = OrderedDict()

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.jobs.sessions

    async def request(self, owner_id: str, resume_id: str, version: int | None,
                      template: str | None,
                      options: Mapping[str, object] | None = None) -> tuple[Any, bool]:
        """The job for this source (a new one, or the queued or running one) and whether
        it is new; InvalidOptions when `options` are not the template's."""
        resume = await self._resume(owner_id, resume_id, version)
        source = self._source(resume, template, options)
        job_id = self.jobs.new_id()
        requested = CompileRequested(
            job_id=job_id, owner_id=owner_id, resume_id=resume_id,
            resume_version=resume.version, template=source.template, engine=source.engine,
            title=source.title, options=source.options)
        return await self.jobs.request(requested,
                                       await self.compiler.from_store(job_id, source.key))

    def _source(self, resume: Any, template: str | None,
                options: Mapping[str, object] | None) -> Source:
        # json, not orjson: options are not validated yet, and may hold integers over 64 bits
        memo = (resume.resume_id, resume.version, template,
                json.dumps(options or {}, sort_keys=True).encode())
        if (source := self._sources.get(memo)) is not None:
            self._sources.move_to_end(memo)
            return source
        document = ResumeDocument.model_validate(resume.document)
        chosen = self.compiler.choose_template(template, document)
        resolved = self.compiler.resolve(chosen, options)
        prepared = self.compiler.prepare(chosen, document, resolved)
        source = Source(chosen, resolved, prepared.engine.name, prepared.key, document.title)
        self._sources[memo] = source
        if len(self._sources) > SOURCES_KEPT:
            self._sources.popitem(last=False)
        return source

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
            lambda: self.document_at(row.owner_id, row.resume_id, request["resume_version"]))

    async def document_at(self, owner_id: str, resume_id: str,
                          version: int) -> ResumeDocument | None:
        """The document a job compiles; None when the resume was deleted meanwhile."""
        document = await live_document(self.sessions, resume_replica, owner_id, resume_id,
                                       version)
        return None if document is None else ResumeDocument.model_validate(document)
