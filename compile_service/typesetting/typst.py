"""The Typst engine: Typst's own compiler as a library (PyPI `typst`), kept warm in the worker
process; no process per job.

- The source is the JSON made by compile_service.rendering (`typst_source`: the template's
  name, the resolved options, the resume). It reaches the template whole, as
  `sys.inputs.data`, which the template decodes with `json(...)`: the resume is data, never
  markup, so no user text can become Typst code (templates show strings with the library's
  `txt`, and never `eval` them).
- Typst reads files only under the template's root, the `typst/` folder that holds the
  templates and their shared helpers (an absolute path in a template is resolved inside the
  root, and `..` cannot leave it; tests/unit/compile/test_typst_templates.py checks that the
  folder holds no symbolic link and no template imports a package, which Typst would
  download). Fonts are the system's (Debian's font packages), scanned once per process;
  Typst's embedded fonts are left out, so a PDF's fonts are always the packages', and a
  template whose fonts are missing is EngineUnavailable (Typst would quietly substitute).
- Renders run in a pool of `concurrency` threads, each with its own `typst.Compiler` (one
  compiler serves one render at a time; Typst's memoization cache is shared by all of them,
  so a compiler is warm after the first render of the process). Typst releases the GIL while
  it works: the event loop keeps running.
- A render that outlasts `timeout_seconds` fails its job (CompileFailed). Its thread cannot
  be stopped: it finishes in the background and holds its slot until then. A job that waited
  that long without starting (every slot held) is EngineUnavailable, retried later.
- After the PDF, one query of the `<rb-layout>` marker that the helpers' page set-up puts at
  the end (the document is memoized: about 0.1 ms) gives the page count and, for a template
  meant for one page, the overflow.
"""

import asyncio
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import orjson
import typst

from compile_service.typesetting.engine import (
    CompiledPdf,
    CompileFailed,
    EngineUnavailable,
    Overflow,
)

LAYOUT_LABEL = "<rb-layout>"


@dataclass(frozen=True)
class TypstTemplate:
    root: Path  # the folder Typst may read
    main: Path  # the template's main.typ, inside root
    one_page: bool = False
    fonts: tuple[str, ...] = ()  # the families it names: refused when one is missing


@dataclass(frozen=True)
class Layout:
    """What the `<rb-layout>` marker reports, in points: the page count, where the content
    ended (page and distance from the page's top) and the page's height and margins."""

    pages: int
    end_page: int
    end_y: float
    page_height: float
    top: float
    bottom: float

    @classmethod
    def from_marker(cls, value: Mapping[str, object]) -> "Layout":
        def number(key: str) -> float:
            raw = value[key]
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise ValueError(f"{key} is not a number")
            return float(raw)

        return cls(int(number("pages")), int(number("end-page")), number("end-y"),
                   number("page-height"), number("top"), number("bottom"))


def overflow_of(layout: Layout) -> Overflow:
    """How far content ran past the first page: whole pages after it, and the height of the
    content below the first page's text area, counting each full page after it as one text
    area and the last one down to where the content ended."""
    extra = layout.end_page - 1
    if extra <= 0:
        return Overflow(overflowed=False)
    area = layout.page_height - layout.top - layout.bottom
    past = (extra - 1) * area + max(0.0, layout.end_y - layout.top)
    return Overflow(overflowed=True, extra_pages=extra, past_pt=round(past, 1))


class Typst:
    name = "typst"

    def __init__(self, templates: Mapping[str, TypstTemplate], concurrency: int = 2,
                 timeout_seconds: float = 20.0) -> None:
        self.templates, self.timeout_seconds = dict(templates), timeout_seconds
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="typst")
        self._local = threading.local()
        self._fonts: typst.Fonts | None = None
        self._families: frozenset[str] = frozenset()
        self._fonts_lock = threading.Lock()

    def fingerprint(self) -> str:
        return f"typst/{version('typst')}"

    async def compile(self, source: str) -> CompiledPdf:
        template = self._template_of(source)
        job = self._pool.submit(self._render, template, source)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(job), self.timeout_seconds)
        except TimeoutError:
            if job.cancel():  # it never started: every slot was held that long
                raise EngineUnavailable(
                    f"no Typst slot came free within {self.timeout_seconds:g} s") from None
            raise CompileFailed(f"Typst did not finish within the {self.timeout_seconds:g} s "
                                "time limit") from None

    async def warm_up(self) -> None:
        """Scan the fonts now rather than in the first job (about 0.3 s)."""
        await asyncio.wrap_future(self._pool.submit(self._shared_fonts))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _template_of(self, source: str) -> TypstTemplate:
        try:
            name = orjson.loads(source)["template"]["name"]
            return self.templates[name]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise EngineUnavailable("the source names no Typst template this engine "
                                    "has") from None

    def _render(self, template: TypstTemplate, source: str) -> CompiledPdf:
        """In a pool thread: the PDF, then the layout marker of the same (memoized) document."""
        compiler = self._compiler(template.root)
        missing = set(template.fonts) - self._families
        if missing:
            raise EngineUnavailable(f"fonts missing on this worker: {', '.join(sorted(missing))}")
        started = time.perf_counter()
        try:
            pdf = compiler.compile(input=template.main, root=template.root,
                                   sys_inputs={"data": source}, timestamp=0)
        except typst.TypstError as error:
            raise CompileFailed(explain(error, template.root)) from None
        if not isinstance(pdf, bytes):
            raise EngineUnavailable("Typst returned no single PDF")
        layout = self._layout(compiler, template)
        elapsed = int((time.perf_counter() - started) * 1000)
        return CompiledPdf(pdf, elapsed, layout.pages,
                           overflow_of(layout) if template.one_page else None)

    def _layout(self, compiler: typst.Compiler, template: TypstTemplate) -> Layout:
        try:
            marker = orjson.loads(compiler.query(LAYOUT_LABEL, field="value", one=True))
            return Layout.from_marker(marker)
        except (RuntimeError, ValueError, KeyError, TypeError) as error:
            raise EngineUnavailable(f"{template.main.name} in {template.root.name} gives no "
                                    f"{LAYOUT_LABEL} marker: {error}") from None

    def _compiler(self, root: Path) -> typst.Compiler:
        compiler: typst.Compiler | None = getattr(self._local, "compiler", None)
        if compiler is None:
            compiler = typst.Compiler(root=root, font_paths=self._shared_fonts())
            self._local.compiler = compiler
        return compiler

    def _shared_fonts(self) -> typst.Fonts:
        with self._fonts_lock:
            if self._fonts is None:
                self._fonts = typst.Fonts(include_system_fonts=True,
                                          include_embedded_fonts=False)
                self._families = frozenset(self._fonts.families())
            return self._fonts


def explain(error: typst.TypstError, root: Path) -> str:
    """Typst's message and hints, with paths as seen from the root (a file not found is
    named by the server path it was looked for at)."""
    hints = "".join(f"\nhint: {hint}" for hint in getattr(error, "hints", []) or [])
    message = getattr(error, "message", "") or str(error)
    return f"Typst reported an error: {message}{hints}".replace(str(root), "")
