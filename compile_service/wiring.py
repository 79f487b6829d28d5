"""What both entry points (the HTTP app and the standalone worker) build from the settings:
database, renderer, engines, artifact store, the jobs and the use cases; and how routes
reach them (`app.state`, set by the app's lifespan). Nothing at import."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.datastructures import State

from compile_service.artifacts import ArtifactStore, artifact_store
from compile_service.compiler import Compiler
from compile_service.domain import COMPILE_JOB
from compile_service.metrics import SERVICE
from compile_service.previews import Previewer
from compile_service.projections import job_records
from compile_service.rendering import BUILTIN_TEMPLATES, TYPST_ENGINE, Renderer
from compile_service.service import CompileService
from compile_service.settings import CompileSettings
from compile_service.tables import SCHEMA, event_tables
from compile_service.thumbnails import Thumbnails
from compile_service.typesetting.engine import Engine
from compile_service.typesetting.latex import PdfLatex
from compile_service.typesetting.sandbox import Limits
from compile_service.typesetting.typst import Typst, TypstTemplate
from contracts.topology import COMPILE_PRODUCER
from runtime.db import asyncpg_dsn, make_engine, make_read_sessionmaker, make_sessionmaker
from runtime.eventstore import EventStore
from runtime.jobs import Jobs, job_finished_channel
from runtime.metrics import service_metrics
from runtime.waiting import JobWaiter


@dataclass
class Components:
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    renderer: Renderer
    compiler: Compiler
    jobs: Jobs
    service: CompileService
    previews: Previewer
    thumbnails: Thumbnails

    async def close(self) -> None:
        await self.compiler.aclose()
        await self.db.dispose()


def template_dirs(settings: CompileSettings) -> list[Path]:
    extra = settings.compile_templates_extra_dir
    return [BUILTIN_TEMPLATES, *([Path(extra)] if extra else [])]


def make_pdflatex(settings: CompileSettings) -> Engine:
    limits = Limits(wall_seconds=settings.compile_timeout_seconds,
                    memory_bytes=settings.compile_memory_limit_mb * 2**20,
                    max_file_bytes=settings.compile_max_output_mb * 2**20)
    return PdfLatex(settings.pdflatex_path, limits, settings.compile_work_dir)


def make_typst(settings: CompileSettings, renderer: Renderer) -> Engine:
    """Typst with the renderer's Typst templates; its compilers start on the first job."""
    templates = {t.name: TypstTemplate(t.root, t.root / t.filename, t.one_page, t.fonts)
                 for t in renderer.templates.values()
                 if t.engine == TYPST_ENGINE and t.root is not None}
    return Typst(templates, settings.compile_concurrency, settings.compile_timeout_seconds,
                 settings.compile_work_dir)


def build(settings: CompileSettings) -> Components:
    db = make_engine(settings.database_url)
    sessions = make_sessionmaker(db)
    renderer = Renderer(template_dirs(settings))
    engines = [make_pdflatex(settings), make_typst(settings, renderer)]
    compiler = Compiler(renderer, {e.name: e for e in engines},
                        artifact_store(settings.artifact_store, settings.artifacts_dir, db))
    jobs = Jobs(COMPILE_JOB, job_records,
                EventStore(event_tables, COMPILE_PRODUCER, service_metrics(SERVICE)), sessions,
                make_read_sessionmaker(db),
                JobWaiter(asyncpg_dsn(settings.database_url), job_finished_channel(SCHEMA)))
    service = CompileService(jobs, compiler, settings.job_version_wait_seconds,
                             settings.typst_in_request)
    previews = Previewer(compiler.artifacts, settings.pdftoppm_path, settings.preview_dpi,
                         settings.preview_timeout_seconds, settings.preview_max_age_seconds)
    return Components(db, sessions, renderer, compiler, jobs, service, previews,
                      Thumbnails(compiler, previews))


def expose(components: Components, state: State) -> None:
    """What the routes reach through `request.app.state`."""
    state.jobs, state.service = components.jobs, components.service
    state.renderer, state.artifacts = components.renderer, components.compiler.artifacts
    state.previews, state.thumbnails = components.previews, components.thumbnails


async def get_service(request: Request) -> CompileService:
    return request.app.state.service  # type: ignore[no-any-return]


async def get_renderer(request: Request) -> Renderer:
    return request.app.state.renderer  # type: ignore[no-any-return]


async def get_artifacts(request: Request) -> ArtifactStore:
    return request.app.state.artifacts  # type: ignore[no-any-return]


async def get_previews(request: Request) -> Previewer:
    return request.app.state.previews  # type: ignore[no-any-return]


async def get_thumbnails(request: Request) -> Thumbnails:
    return request.app.state.thumbnails  # type: ignore[no-any-return]


Service = Annotated[CompileService, Depends(get_service)]
Templates = Annotated[Renderer, Depends(get_renderer)]
Artifacts = Annotated[ArtifactStore, Depends(get_artifacts)]
Previews = Annotated[Previewer, Depends(get_previews)]
TemplateThumbnails = Annotated[Thumbnails, Depends(get_thumbnails)]
