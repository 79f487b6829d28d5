"""From a resume document to a stored PDF: render the template, derive the content address,
reuse a stored PDF or run the engine and store its output. Shared by the API (which finishes
a job at once when its PDF is already stored) and the workers."""

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from compile_service import ats
from compile_service.analysis import AtsReports
from compile_service.artifacts import ArtifactStore
from compile_service.domain import UnknownTemplate
from compile_service.manifests import OptionValue, resolve_options
from compile_service.metrics import count_artifact_lookup
from compile_service.rendering import RenderedSource, Renderer
from compile_service.typesetting.engine import CompiledPdf, CompileFailed, Engine
from contracts.compile_events import CompileFinished, PageOverflow
from contracts.resume import ResumeDocument

DEFAULT_TEMPLATE = "classic"
ATS_DUE_KEPT = 64  # PDFs made whose outcome is not recorded yet (a lost one is remade later)
FIGURES = ("pages", "overflow", "ats")  # stored beside a PDF; its finish records the first two


@dataclass(frozen=True)
class _AtsDue:
    key: str
    pdf: bytes
    document: ResumeDocument
    figures: dict[str, Any]


@dataclass(frozen=True)
class Prepared:
    rendered: RenderedSource
    engine: Engine
    key: str
    document: ResumeDocument  # what the ATS check looks for in the PDF


class Compiler:
    def __init__(self, renderer: Renderer, engines: dict[str, Engine],
                 artifacts: ArtifactStore) -> None:
        self.renderer, self.engines, self.artifacts = renderer, engines, artifacts
        self.poppler = ats.ReadyPoppler()  # the ATS check's, started ahead of each PDF
        self.ats_reports = AtsReports(artifacts, self.poppler)
        self._ats_due: OrderedDict[str, _AtsDue] = OrderedDict()  # by job id

    def choose_template(self, asked: str | None, document: ResumeDocument) -> str:
        """The asked template (which must exist), else the document's, else the default."""
        if asked is not None:
            if not self.renderer.has(asked):
                raise UnknownTemplate(asked)
            return asked
        return document.template if self.renderer.has(document.template) else DEFAULT_TEMPLATE

    def resolve(self, template: str,
                options: Mapping[str, object] | None) -> dict[str, OptionValue]:
        """Every option of the template, as asked or by default; UnknownTemplate, or
        InvalidOptions naming each problem."""
        if not self.renderer.has(template):
            raise UnknownTemplate(template)
        return resolve_options(self.renderer.templates[template].options, options)

    def prepare(self, template: str, document: ResumeDocument,
                options: Mapping[str, object] | None = None) -> Prepared:
        """The source and its content address; UnknownTemplate, or InvalidOptions when
        `options` are not the template's."""
        if not self.renderer.has(template):
            raise UnknownTemplate(template)
        rendered = self.renderer.render(template, document, options)
        engine = self.engines[rendered.template.engine]
        return Prepared(rendered, engine, rendered.content_key(engine.fingerprint()), document)

    async def warm_up(self, *names: str) -> None:
        """The engines named (all without a name) made ready before their first job."""
        for name, engine in self.engines.items():
            if not names or name in names:
                await engine.warm_up()

    async def aclose(self) -> None:
        await self.ats_reports.aclose()
        self.close()

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()
        self.poppler.close()

    async def stored(self, key: str) -> bool:
        found = await self.artifacts.has(key)
        count_artifact_lookup(found)
        return found

    async def from_store(self, job_id: str, key: str) -> CompileFinished | None:
        """The finish of a job whose PDF (content key `key`) is stored already, with the
        figures stored beside it; None when it is not stored."""
        figures = await self.artifacts.stored(key)
        count_artifact_lookup(figures is not None)
        return None if figures is None else already_stored(job_id, key, figures)

    async def run(self, job_id: str, prepared: Prepared,
                  look_in_store: bool = True) -> CompileFinished:
        """The outcome of compiling; infrastructure failures (engine missing, store down)
        raise, so the message is retried and finally dead-lettered. The ATS check of a new
        PDF waits for `check_ats(job_id)`, called once the outcome is recorded: it costs as
        much as a Typst render, and would slow that record down on a small machine."""
        if look_in_store:
            cached = await self.from_store(job_id, prepared.key)
            if cached is not None:
                return cached
        try:
            pdf = await prepared.engine.compile(prepared.rendered.source)
        except CompileFailed as failure:
            return CompileFinished(job_id=job_id, outcome="failed", error_code="compile_failed",
                                   error=str(failure))
        figures = figures_of(pdf)
        await self.artifacts.put(prepared.key, pdf.data, figures)
        self._ats_due[job_id] = _AtsDue(prepared.key, pdf.data, prepared.document, figures)
        if len(self._ats_due) > ATS_DUE_KEPT:
            self._ats_due.popitem(last=False)
        return CompileFinished.model_validate({
            "job_id": job_id, "outcome": "succeeded", "artifact_key": prepared.key,
            "engine_ms": pdf.engine_ms, **figures})

    def check_ats(self, job_id: str) -> None:
        """Start the ATS check of the PDF the job made, if it made one, in the background."""
        if (due := self._ats_due.pop(job_id, None)) is not None:
            self.ats_reports.start(due.key, due.pdf, due.document, due.figures)


def figures_of(pdf: CompiledPdf) -> dict[str, Any]:
    """`pages` and `overflow`, as the engine told them, as JSON; the ATS report follows
    (compile_service.analysis)."""
    overflow = None if pdf.overflow is None else PageOverflow(
        overflowed=pdf.overflow.overflowed, extra_pages=pdf.overflow.extra_pages,
        past_pt=pdf.overflow.past_pt).model_dump(mode="json")
    return {"pages": pdf.pages, "overflow": overflow}


def already_stored(job_id: str, key: str,
                   figures: Mapping[str, Any] | None = None) -> CompileFinished:
    """A cached finish, with the figures stored beside the PDF (none when they were not, or
    are unreadable: a PDF stored before they existed)."""
    finished = {"job_id": job_id, "outcome": "succeeded", "artifact_key": key, "cached": True}
    try:
        return CompileFinished.model_validate(
            {**finished, **{k: v for k, v in (figures or {}).items() if k in FIGURES}})
    except ValidationError:
        return CompileFinished.model_validate(finished)
