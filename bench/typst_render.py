"""The Typst engine's render step, in this process (no services): for each Typst template,
the first render of the process (cold: nothing memoized) and RUNS warm renders of fresh
content (one bullet changes each time, as in an autosave: Typst lays the document out again,
reusing what did not change; and every title and bullet changed, as for another person's
resume): p50 and p90 of
`Typst.compile` (thread hop, render, layout query), and of what the pool thread runs
(`engine_ms`, timed here below the millisecond, with its CPU time); beside them the same
content again (all memoized), fresh content with the resume in `sys.inputs` instead of the
slot's data file (one warm compiler), and through a new `typst.Compiler` each (the fonts
scanned once; Typst's memoization cache is per process, so it stays warm).
Then PARALLEL renders at once, with one slot and with two, alternating: renders per second
and CPU per render.

Run: ``.venv/bin/python bench/typst_render.py`` (about 20 s). Target (issue 16): the render
step p50 at most 15 ms."""

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import typst

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compile_service.rendering import BUILTIN_TEMPLATES, TYPST_ENGINE, Renderer
from compile_service.typesetting.typst import Typst, TypstTemplate
from contracts.resume import ResumeDocument
from tests.samples import academic, engineer

RUNS = 50
PARALLEL = 40


def fresh(document: ResumeDocument, n: int) -> ResumeDocument:
    """`document` with its first bullet changed."""
    changed = document.model_copy(deep=True)
    item = next(i for s in changed.sections for i in s.items if i.bullets)
    item.bullets[0] = f"Shipped change number {n} to production"
    return changed


def stranger(document: ResumeDocument, n: int) -> ResumeDocument:
    """`document` with every item's title and bullets changed: another person's resume,
    as far as Typst's memoization goes."""
    changed = document.model_copy(deep=True)
    changed.contact.name = f"{changed.contact.name} {n}"
    for section in changed.sections:
        for item in section.items:
            item.title = f"{item.title} {n}"
            item.bullets = [f"{b} ({n})" for b in item.bullets]
    return changed


def line(name: str, samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=10)
    return f"  {name:<46} p50 {statistics.median(samples):6.2f} ms   p90 {q[-1]:6.2f} ms"


async def measure(renderer: Renderer, engine: Typst, fonts: typst.Fonts) -> None:
    for name in engine.templates:
        sample = academic() if name == "academic" else engineer()
        started = time.perf_counter()
        first = await engine.compile(renderer.render(name, sample).source)
        print(f"{name}: {first.pages} page(s); first render "
              f"{(time.perf_counter() - started) * 1000:.1f} ms")
        sources = [renderer.render(name, fresh(sample, i)).source for i in range(2 * RUNS)]
        outer, inner, cpu = await edits(engine, name, sources)
        print(line("Typst.compile, one bullet changed", outer))
        print(line("  the render in its thread (engine_ms)", inner))
        print(line("  its CPU time (process, all threads)", cpu))
        others = await renders(engine, [renderer.render(name, stranger(sample, i)).source
                                        for i in range(RUNS)])
        print(line("Typst.compile, every text changed", others))
        print(line("Typst.compile, the same content again",
                   await renders(engine, [sources[0]] * RUNS)))
        print(line("the resume in sys.inputs, one bullet changed",
                   in_inputs(engine, name, sources, fonts)))
        print(line("a new typst.Compiler each, one bullet changed",
                   new_compilers(engine, name, sources, fonts)))


async def edits(engine: Typst, name: str,
                sources: list[str]) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds of `Typst.compile` on the first half of `sources` (each a small edit of
    the one before), alternating with what a pool thread runs on the second half: its wall
    time and its CPU time."""
    half = len(sources) // 2
    outer, inner, cpu = [], [], []
    for source, other in zip(sources[:half], sources[half:], strict=True):
        outer += await renders(engine, [source])
        wall, used = await asyncio.to_thread(timed_render, engine, name, other)
        inner.append(wall)
        cpu.append(used)
    return outer, inner, cpu


async def renders(engine: Typst, sources: list[str]) -> list[float]:
    """Milliseconds of `Typst.compile` on each source, one after the other."""
    samples = []
    for source in sources:
        started = time.perf_counter()
        await engine.compile(source)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def in_inputs(engine: Typst, name: str, sources: list[str], fonts: typst.Fonts) -> list[float]:
    """The baseline for the data file: one warm compiler over a copy of the templates whose
    helpers decode the resume from `sys.inputs` (which then changes with every job)."""
    template, root = engine.templates[name], engine_root(engine)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "root"
        shutil.copytree(root, copy)
        helpers = copy / "lib" / "resume.typ"
        helpers.write_text(helpers.read_text().replace(
            "json(sys.inputs.data)", "json(bytes(sys.inputs.data))"))
        compiler = typst.Compiler(root=copy, font_paths=fonts)
        main = copy / template.main.relative_to(template.root)
        samples = []
        for source in sources[:RUNS]:
            started = time.perf_counter()
            compiler.compile(input=main, sys_inputs={"data": source}, timestamp=0)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def new_compilers(engine: Typst, name: str, sources: list[str],
                  fonts: typst.Fonts) -> list[float]:
    template, root = engine.templates[name], engine_root(engine)
    main = root / template.main.relative_to(template.root)
    samples = []
    for source in sources[:RUNS]:
        started = time.perf_counter()
        (root / ".jobs" / "bench.json").write_text(source)
        typst.Compiler(root=root, font_paths=fonts, sys_inputs={"data": "/.jobs/bench.json"}
                       ).compile(input=main, timestamp=0)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def engine_root(engine: Typst) -> Path:
    assert engine.run_dir is not None
    return engine.run_dir / "root-0"


def timed_render(engine: Typst, name: str, source: str) -> tuple[float, float]:
    """Wall and CPU milliseconds of what a pool thread runs (nothing else runs meanwhile)."""
    template = engine.templates[name]
    started, cpu = time.perf_counter(), time.process_time()
    engine._render(template, source)
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000


async def parallel(renderer: Renderer, engine: Typst, offset: int) -> None:
    sources = [renderer.render("compact", fresh(engineer(), offset + i)).source
               for i in range(PARALLEL)]
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*[engine.compile(s) for s in sources])
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    print(f"{PARALLEL} compact renders at once, {engine._pool._max_workers} slot(s): "
          f"{PARALLEL / elapsed:.0f} renders/s, {used / PARALLEL * 1000:.2f} ms CPU each")


def typst_engine(renderer: Renderer, concurrency: int = 2) -> Typst:
    templates = {t.name: TypstTemplate(t.root, t.root / t.filename, t.one_page, t.fonts)
                 for t in renderer.templates.values()
                 if t.engine == TYPST_ENGINE and t.root is not None}
    return Typst(templates, concurrency=concurrency, timeout_seconds=20)


async def main() -> None:
    renderer = Renderer([BUILTIN_TEMPLATES])
    engine = typst_engine(renderer)
    started = time.perf_counter()
    await engine.warm_up()
    print(f"fonts scanned in {(time.perf_counter() - started) * 1000:.0f} ms")
    fonts = typst.Fonts(include_system_fonts=True, include_embedded_fonts=False)
    await measure(renderer, engine, fonts)
    one = typst_engine(renderer, concurrency=1)
    for offset, each in enumerate((one, engine, one, engine)):
        await parallel(renderer, each, 1000 * (offset + 1))
    one.close()
    engine.close()


if __name__ == "__main__":
    asyncio.run(main())
