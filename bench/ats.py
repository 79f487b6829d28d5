"""The ATS check's own cost per PDF, in this process (no services): for each template and
sample resume, the PDF made once, then RUNS times `ats.check` (pdftotext -raw and pdffonts
side by side, then the matching) as the worker runs it, its poppler pair started ahead
(`ats.ReadyPoppler`): p50 and p90 of its wall time; then with a fresh start of both (wall,
and the CPU time of this process and the poppler children); beside it, same run, the
baseline of a plain `pdftotext -raw` on the same PDF (wall, and CPU in brackets), the ratio
of the check's wall p50 to it, and the matching alone (`ats.assess` on the extraction), all
in milliseconds.

Run: ``.venv/bin/python bench/ats.py`` (about 15 s)."""

import asyncio
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compile_service import ats
from compile_service.rendering import BUILTIN_TEMPLATES, Renderer
from compile_service.settings import CompileSettings
from compile_service.typesetting.engine import Engine
from compile_service.typesetting.latex import PdfLatex
from compile_service.typesetting.sandbox import Limits
from compile_service.wiring import make_typst
from contracts.resume import ResumeDocument
from tests.samples import academic, engineer

RUNS = 30
TEMPLATES = ("standard", "compact", "sidebar", "academic", "classic", "modern")


def cpu_seconds() -> float:
    """CPU time of this process and of its children that ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(run: Callable[[], object], settle: bool = False) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of RUNS calls; `settle`: a pause before each, so what a
    call leaves to the background (the next poppler pair) is done, as between jobs."""
    walls, cpus = [], []
    for _ in range(RUNS):
        if settle:
            time.sleep(0.02)
        started, cpu = time.perf_counter(), cpu_seconds()
        run()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((cpu_seconds() - cpu) * 1000)
    return walls, cpus


def p(samples: list[float], q: int) -> float:
    return statistics.median(samples) if q == 50 else statistics.quantiles(samples, n=10)[-1]


@dataclass
class Costs:
    """Milliseconds per PDF: the check with a poppler pair started ahead (as the worker runs
    it), with a fresh start, its CPU time (fresh), a plain `pdftotext -raw` (wall, CPU),
    and the matching alone."""

    ready: list[float]
    fresh: list[float]
    fresh_cpu: list[float]
    plain: list[float]
    plain_cpu: list[float]
    matching: list[float]


def costs(pdf: bytes, document: ResumeDocument) -> Costs:
    poppler = ats.ReadyPoppler()
    try:
        ready, _ = timed(lambda: ats.check(pdf, document, ready=poppler), settle=True)
    finally:
        poppler.close()
    fresh, fresh_cpu = timed(lambda: ats.check(pdf, document))
    plain, plain_cpu = timed(lambda: subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-raw", "-", "-"], input=pdf, capture_output=True,
        check=True))
    extraction = ats.extract(pdf)
    matching, _ = timed(lambda: ats.assess(extraction, document))
    return Costs(ready, fresh, fresh_cpu, plain, plain_cpu, matching)


def measure(label: str, pdf: bytes, document: ResumeDocument) -> list[float]:
    """One line: the check started ahead and fresh, its CPU, plain pdftotext, matching."""
    report, found = ats.check(pdf, document), costs(pdf, document)
    print(f"{label} {report.score:>5}  {p(found.ready, 50):>8.1f}/{p(found.ready, 90):<8.1f}  "
          f"{p(found.fresh, 50):>8.1f}  {p(found.fresh_cpu, 50):>7.1f}  "
          f"{p(found.plain, 50):>8.1f} ({p(found.plain_cpu, 50):4.1f})  "
          f"{p(found.ready, 50) / p(found.plain, 50):>5.2f}  {p(found.matching, 50):>8.2f}")
    return found.ready


async def main() -> None:
    renderer = Renderer([BUILTIN_TEMPLATES])
    typst = make_typst(CompileSettings(compile_timeout_seconds=20), renderer)
    engines: dict[str, Engine] = {"typst": typst,
                                  "pdflatex": PdfLatex(limits=Limits(wall_seconds=30))}
    print(f"{'template':<9} {'sample':<9} {'pages':>5} {'score':>5}  {'check p50/p90 ms':>17}"
          f"  {'fresh':>8}  {'CPU p50':>7}  {'pdftotext (CPU)':>15}  {'ratio':>5}  "
          f"{'matching':>8}")
    all_checks = []
    for name in TEMPLATES:
        for sample in (engineer, academic):
            document = sample()
            rendered = renderer.render(name, document)
            compiled = await engines[rendered.template.engine].compile(rendered.source)
            walls = measure(f"{name:<9} {sample.__name__:<9} {compiled.pages or 0:>5}",
                            compiled.data, document)
            all_checks += walls
    print(f"every check: p50 {p(all_checks, 50):.1f} ms, p90 {p(all_checks, 90):.1f} ms "
          f"({len(all_checks)} checks)")
    typst.close()


if __name__ == "__main__":
    asyncio.run(main())
