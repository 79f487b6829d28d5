"""Builds what both entry points need (the HTTP app and the standalone worker) from the
settings: database, renderer, engines, artifact store, the use cases. Nothing at import."""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from compile_service.artifacts import DirectoryStore
from compile_service.compiler import Compiler
from compile_service.engine import Engine, Limits, PdfLatex
from compile_service.rendering import BUILTIN_TEMPLATES, Renderer
from compile_service.service import CompileService
from compile_service.settings import CompileSettings
from compile_service.tables import event_tables
from contracts.topology import COMPILE_PRODUCER
from runtime.db import make_engine, make_sessionmaker
from runtime.eventstore import EventStore


@dataclass
class Components:
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    renderer: Renderer
    compiler: Compiler
    service: CompileService


def template_dirs(settings: CompileSettings) -> list[Path]:
    extra = settings.compile_templates_extra_dir
    return [BUILTIN_TEMPLATES, *([Path(extra)] if extra else [])]


def make_pdflatex(settings: CompileSettings) -> Engine:
    limits = Limits(wall_seconds=settings.compile_timeout_seconds,
                    memory_bytes=settings.compile_memory_limit_mb * 2**20,
                    max_file_bytes=settings.compile_max_output_mb * 2**20)
    return PdfLatex(settings.pdflatex_path, limits, settings.compile_work_dir)


def build(settings: CompileSettings) -> Components:
    db = make_engine(settings.database_url)
    sessions = make_sessionmaker(db)
    renderer = Renderer(template_dirs(settings))
    engine = make_pdflatex(settings)
    compiler = Compiler(renderer, {engine.name: engine}, DirectoryStore(settings.artifacts_dir))
    service = CompileService(sessions, EventStore(event_tables, COMPILE_PRODUCER), compiler,
                             settings.compile_version_wait_seconds)
    return Components(db, sessions, renderer, compiler, service)
