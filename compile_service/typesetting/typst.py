"""The Typst engine: Typst's own compiler as a library (PyPI `typst`), kept warm in the worker
process; no process per job.

- The source is the JSON made by compile_service.rendering (`typst_source`: the template's
  name, the resolved options, the resume). The engine writes it to its slot's data file,
  which the template reads with `json(...)` (the file's path comes in `sys.inputs.data`):
  the resume is data, never markup, so no user text can become Typst code (templates show
  strings with the helpers' `txt` and never `eval` them). The path is the same for every job
  of a slot, so `sys.inputs`, and with it Typst's library, stay the same from job to job and
  Typst reuses the layout of whatever did not change: an edit renders 2-3x faster than with
  the resume in `sys.inputs` itself (bench/typst_render.py).
- Typst reads files only under its root: the engine's copy of the template folder (the
  templates and their shared helpers), made by `warm_up` or else the first render, in a run
  directory of this process (removed by `close` or at exit, swept after a crash like TeX's),
  with the slots' data files inside it. The renderer hashes the folder when it starts: call
  `warm_up` at start so that both see the same files.
  An absolute path in a template resolves inside the root and `..` cannot leave it;
  tests/unit/compile/test_typst_templates.py checks that the folder holds no symbolic link
  and that no template imports a package (Typst would download it). Fonts are the system's
  (Debian's font packages), scanned once per process; Typst's embedded fonts are left out,
  so a PDF's fonts are always the packages', and a template whose fonts are missing is
  EngineUnavailable (Typst would quietly substitute).
- Renders run in a pool of `concurrency` threads; each thread is a slot with its own
  `typst.Compiler` and data file (one compiler serves one render at a time; Typst's
  memoization cache is shared by the whole process). Typst releases the GIL while it works:
  the event loop keeps running.
- A render that outlasts `timeout_seconds` fails its job (CompileFailed). Its thread cannot
  be stopped: it finishes in the background and holds its slot until then. A job that waited
  that long without starting (every slot held) is EngineUnavailable, retried later.
- After the PDF, one query of the `<rb-layout>` marker that the helpers' page set-up puts at
  the end (the document is memoized: about 0.1 ms) gives the page count and, for a template
  meant for one page, the overflow.
"""

import asyncio
import functools
import itertools
import shutil
import tempfile
import threading
import time
import weakref
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
from compile_service.typesetting.sandbox import fresh_run_dir

LAYOUT_LABEL = "<rb-layout>"
DATA_FOLDER = ".jobs"  # in each root copy: one data file per slot


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


@dataclass
class _Slot:
    """What one pool thread renders with."""

    compiler: typst.Compiler
    data_path: str  # the data file as the template sees it, the same in every root


# names the one run directory the engine keeps for its process's lifetime
KEPT_RUN_PURPOSE = "typst"

@functools.cache
def _typst_version() -> str:
    """Read once: the package metadata costs about half a millisecond a job."""
    return version("typst")


class Typst:
    name = "typst"

    def __init__(self, templates: Mapping[str, TypstTemplate], concurrency: int = 2,
                 timeout_seconds: float = 20.0, work_root: str = "") -> None:
        self.templates, self.timeout_seconds = dict(templates), timeout_seconds
        self.work_root = work_root or tempfile.gettempdir()
        self.run_dir: Path | None = None  # made with the first render (or `warm_up`)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="typst")
        self._local = threading.local()
        self._setup_lock = threading.Lock()
        self._fonts: typst.Fonts | None = None
        self._families: frozenset[str] = frozenset()
        self._roots: dict[Path, Path] = {}  # a template folder -> its copy in run_dir
        self._slot_numbers = itertools.count()
        self._remove_run_dir: weakref.finalize | None = None

    def fingerprint(self) -> str:
        return f"typst/{_typst_version()}"

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
        """Scan the fonts and copy the templates now rather than in the first job."""
        await asyncio.wrap_future(self._pool.submit(self._set_up))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._remove_run_dir is not None:
            self._remove_run_dir()

    def _template_of(self, source: str) -> TypstTemplate:
        try:
            name = orjson.loads(source)["template"]["name"]
            return self.templates[name]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise EngineUnavailable("the source names no Typst template this engine "
                                    "has") from None

    def _render(self, template: TypstTemplate, source: str) -> CompiledPdf:
        """In a pool thread: the PDF, then the layout marker of the same (memoized) document."""
        slot = self._slot()
        missing = set(template.fonts) - self._families
        if missing:
            raise EngineUnavailable(f"fonts missing on this worker: {', '.join(sorted(missing))}")
        root = self._roots[template.root]
        started = time.perf_counter()
        (root / slot.data_path.lstrip("/")).write_text(source, encoding="utf-8")
        try:
            pdf = slot.compiler.compile(input=root / template.main.relative_to(template.root),
                                        root=root, timestamp=0)
        except typst.TypstError as error:
            raise CompileFailed(explain(error, root)) from None
        if not isinstance(pdf, bytes):
            raise EngineUnavailable("Typst returned no single PDF")
        layout = self._layout(slot.compiler, template)
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

    def _slot(self) -> _Slot:
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None:
            fonts, root = self._set_up(), next(iter(self._roots.values()), None)
            data_path = f"/{DATA_FOLDER}/{next(self._slot_numbers)}.json"
            slot = _Slot(typst.Compiler(root=root, font_paths=fonts,
                                        sys_inputs={"data": data_path}), data_path)
            self._local.slot = slot
        return slot

    def _set_up(self) -> typst.Fonts:
        """Once per engine: the fonts, and a copy of each template folder in the run dir."""
        with self._setup_lock:
            if self._fonts is None:
                self._fonts = typst.Fonts(include_system_fonts=True,
                                          include_embedded_fonts=False)
                self._families = frozenset(self._fonts.families())
                self.run_dir = fresh_run_dir(self.work_root, KEPT_RUN_PURPOSE)
                self._remove_run_dir = weakref.finalize(self, shutil.rmtree, self.run_dir,
                                                        ignore_errors=True)
                for number, folder in enumerate(sorted({t.root for t in
                                                        self.templates.values()})):
                    copy = self.run_dir / f"root-{number}"
                    shutil.copytree(folder, copy)
                    (copy / DATA_FOLDER).mkdir()
                    self._roots[folder] = copy.resolve()
            return self._fonts


def explain(error: typst.TypstError, root: Path) -> str:
    """Typst's message and hints, with paths as seen from the root (a file not found is
    named by the server path it was looked for at)."""
    hints = "".join(f"\nhint: {hint}" for hint in getattr(error, "hints", []) or [])
    message = getattr(error, "message", "") or str(error)
    return f"Typst reported an error: {message}{hints}".replace(str(root), "")
