"""compile_service benchmark: every figure of issue #16 in one run, each against a baseline
of the same run (targets in brackets).

In this process, no services:
- the Typst render step: `Typst.compile` of the compact template, one bullet changed each
  time as in an autosave [p50 <= 15 ms]; baseline: the same content again (all memoized);
- the ATS check's own cost per PDF, compact and classic on the engineer sample, as the
  worker runs it (its poppler pair started ahead); baselines: the check with a fresh start
  of poppler, and a plain `pdftotext -raw`.

Through the gateway, the whole Procfile stack started as `make up` starts it (bench.stack,
a database, vhost and Redis db of its own, a fresh artifact store):
- Typst save-then-compile of fresh content, each 250 ms after the last as between a
  person's edits (and then back to back): PUT the resume, POST its compile with `wait`
  (answered once the job finished, as an editor asks), to `succeeded` [save to succeeded
  p50 <= 60 ms], and the render's own time (`engine_ms`) [p50 <= 15 ms]: compiled by the
  request itself (TYPST_IN_REQUEST, compile_service.service); baseline: the same for the
  LaTeX classic template;
- LaTeX cold: classic's compile to `succeeded` of each save, interleaved with plain pdflatex
  on the exact source the service compiles (the baseline) [p50 <= 1.1x plain];
- cached: the same version and template asked again, finished in the POST [p50 <= 15 ms];
  baseline: reading that job's status;
- N=1 against N=2 LaTeX compiles at once (two resumes), against plain pdflatex 1 and 2 at
  once [the N=2 round about the N=1 round on 2 idle cores].

Then the same stack with TYPST_IN_REQUEST=0, where every Typst job goes through the queue to
the compile worker: its save to succeeded (the baseline of the request's own compile) and
the worker's render time [p50 <= 15 ms]. On both stacks, Typst saves back to back give the
CPU per save of every process of the stack and of the servers (PostgreSQL, RabbitMQ,
Redis).

Run: ``.venv/bin/python bench/compile.py`` (about 2 minutes; the servers PostgreSQL,
RabbitMQ and Redis up, as for the tests). The machine's load average is printed at the start
and the end: on a shared machine it moves every figure."""

import asyncio
import contextlib
import copy
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ats as ats_bench
from bench import typst_render
from bench.common import ROOT, Result
from bench.stack import Stack, procfile_stack, server_cpu
from bench.write_path import document
from compile_service.rendering import BUILTIN_TEMPLATES, Renderer
from compile_service.typesetting.latex import PdfLatex
from compile_service.typesetting.sandbox import Limits
from contracts.resume import ResumeDocument
from tests.samples import engineer

TYPST, LATEX = "compact", "classic"
RUNS, ROUNDS = 15, 3  # save-then-compile runs per template per round
# between two Typst saves, as between a person's edits (an editor saves after a pause in
# typing): the last one's work off the path (its ATS check, its events' relay) is done by
# then; the back-to-back figure is printed too
EDIT_PAUSE_SECONDS = 0.25
SETTLE_SECONDS = 0.5  # after saves back to back, before their CPU is counted
RENDERS = 50
CACHED_RUNS = 40
N_ROUNDS = 4


@dataclass
class Run:
    save_ms: float  # from the save's request to seeing `succeeded`
    compile_ms: float  # from the compile request to seeing `succeeded`
    job: dict[str, Any]


def result(name: str, ms: list[float], wall_seconds: float | None = None) -> Result:
    """p50, p99 (nearest rank) and the rate of one after the other, or per `wall_seconds`."""
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    wall = wall_seconds if wall_seconds is not None else sum(ms) / 1000
    return Result(name, statistics.median(ordered), p99, len(ordered) / wall)


def show(result: Result, unit: str = "/s") -> None:
    print(f"  {result.name:<46} p50 {result.p50_ms:8.1f} ms   p99 {result.p99_ms:8.1f} ms   "
          f"{result.rps:8.1f} {unit}")


def verdict(label: str, value: float, target: float, unit: str = " ms") -> str:
    mark = "ok" if value <= target else "MISSED"
    return f"{label}: {value:.2f}{unit} (target <= {target:g}{unit}) {mark}"


# --- in this process -----------------------------------------------------------------------

async def in_process() -> dict[str, float]:
    renderer = Renderer([BUILTIN_TEMPLATES])
    engine = typst_render.typst_engine(renderer)
    await engine.warm_up()
    try:
        print("In this process:")
        sample = engineer()
        sources = [renderer.render(TYPST, typst_render.fresh(sample, i)).source
                   for i in range(2 * RENDERS)]
        await engine.compile(sources[-1])
        edits, _, _ = await typst_render.edits(engine, TYPST, sources)
        same = await typst_render.renders(engine, [sources[0]] * RENDERS)
        show(result(f"Typst render, {TYPST}, one bullet changed", edits), "renders/s")
        show(result("  baseline: the same content again", same), "renders/s")
        figures = {"render_p50": statistics.median(edits),
                   "render_ratio": statistics.median(edits) / statistics.median(same)}
        pdflatex = PdfLatex(limits=Limits(wall_seconds=30))
        for template, compiler in ((TYPST, engine), (LATEX, pdflatex)):
            pdf = (await compiler.compile(renderer.render(template, sample).source)).data
            figures |= ats_costs(template, pdf, sample)
        return figures
    finally:
        engine.close()


def ats_costs(template: str, pdf: bytes, sample: ResumeDocument) -> dict[str, float]:
    costs = ats_bench.costs(pdf, sample)
    show(result(f"ATS check, {template} PDF (poppler started ahead)", costs.ready), "checks/s")
    show(result("  baseline: the check, poppler started fresh", costs.fresh), "checks/s")
    show(result("  baseline: a plain pdftotext -raw", costs.plain), "runs/s")
    print(f"  ATS check started ahead / fresh: x{_ratio(costs.ready, costs.fresh):.2f}, "
          f"/ plain pdftotext: x{_ratio(costs.ready, costs.plain):.2f}; matching alone "
          f"p50 {statistics.median(costs.matching):.2f} ms")
    return {f"ats_{template}_p50": statistics.median(costs.ready)}


def _ratio(samples: list[float], baseline: list[float]) -> float:
    return statistics.median(samples) / statistics.median(baseline)


# --- through the gateway -------------------------------------------------------------------

async def save_and_compile(client: httpx.AsyncClient, resume: dict[str, Any], template: str,
                           text: str, before_compile: Any = None) -> Run:
    """One save of fresh content (its first bullet rewritten to `text`) and its PDF;
    `before_compile(resume)` runs between the save and the compile request, untimed."""
    started = time.perf_counter()
    saved = await client.put(f"/api/resume/update/{resume['id']}",
                             json=with_fresh_bullet(resume, text))
    saved.raise_for_status()
    saving = time.perf_counter() - started
    resume.update(saved.json())
    if before_compile is not None:
        await asyncio.to_thread(before_compile, resume)
    asked = time.perf_counter()
    job = await client.post(f"/api/compile/{resume['id']}", params={"wait": 10},
                            json={"version": resume["version"], "template": template})
    job.raise_for_status()
    body = await until_finished(client, job.json())
    compiling = time.perf_counter() - asked
    return Run((saving + compiling) * 1000, compiling * 1000, body)


async def until_finished(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    while body["status"] not in ("succeeded", "failed"):
        body = (await client.get(body["status_url"], params={"wait": 10})).json()
    if body["status"] != "succeeded":
        raise RuntimeError(f"{body['template']}: {body.get('error_code')} {body.get('error')}")
    return body


def with_fresh_bullet(resume: dict[str, Any], text: str) -> dict[str, Any]:
    """The resume with its first bullet rewritten: content every template prints, so no PDF
    of it was made before."""
    sections = copy.deepcopy(resume["sections"])
    item = next(i for s in sections for i in s["items"] if i.get("bullets"))
    item["bullets"][0] = f"Shipped change {text} to production"
    return {**resume, "sections": sections}


class PlainPdflatex:
    """The baseline: pdflatex, with the engine's flags, on the exact source the service
    compiles for a resume (rendered here by the same renderer), in a fresh directory."""

    def __init__(self) -> None:
        self.renderer = Renderer([BUILTIN_TEMPLATES])
        self.ms: list[float] = []

    def __call__(self, resume: dict[str, Any]) -> float:
        """Runs it on the resume as it is now and keeps its milliseconds; its seconds."""
        fields = {k: v for k, v in resume.items() if k in ResumeDocument.model_fields}
        source = self.renderer.render(LATEX, ResumeDocument.model_validate(fields)).source
        seconds = plain_pdflatex(source)
        self.ms.append(seconds * 1000)
        return seconds


def plain_pdflatex(source: str) -> float:
    with tempfile.TemporaryDirectory() as workdir:
        Path(workdir, "main.tex").write_text(source)
        started = time.perf_counter()
        subprocess.run(["pdflatex", "-no-shell-escape", "-halt-on-error",
                        "-interaction=nonstopmode", "main.tex"], cwd=workdir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started


async def back_to_back(client: httpx.AsyncClient, resume: dict[str, Any],
                       stack: Stack) -> tuple[list[float], float]:
    """Typst saves one after the other, with no pause: their save-to-succeeded ms, and the
    CPU milliseconds per save of every process of the stack and of the servers (PostgreSQL,
    RabbitMQ, Redis), counted until what they left running (ATS checks, relays) is done."""
    before = {**stack.cpu(), **server_cpu()}
    saves = [(await save_and_compile(client, resume, TYPST, f"b2b {n} {time.time()}")).save_ms
             for n in range(2 * RUNS * ROUNDS)]
    await asyncio.sleep(SETTLE_SECONDS)
    after = {**stack.cpu(), **server_cpu()}
    cpu = sum(after[name] - before.get(name, 0.0) for name in after)
    return saves, cpu * 1000 / len(saves)


@contextlib.asynccontextmanager
async def signed_in(stack: Stack, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the stack's gateway with a session of `email`'s."""
    gateway = stack.gateway
    async with httpx.AsyncClient(base_url=gateway, headers={"Origin": gateway},
                                 timeout=60) as client:
        (await client.post("/api/auth/dev-login", json={"email": email})).raise_for_status()
        yield client


async def through_gateway(stack: Stack) -> dict[str, float]:
    async with signed_in(stack, "compile@bench.example") as client:
        resumes = [(await client.post("/api/resume/create",
                                      json=document(f"Compile {i}"))).json() for i in (1, 2)]
        for template in (TYPST, LATEX):  # warm-up: engines, caches, connections
            await save_and_compile(client, resumes[0], template, f"warm {time.time()}")
        print("Through the gateway (the Procfile stack):")
        figures = await save_then_compile(client, resumes[0])
        saves, cpu_ms = await back_to_back(client, resumes[0], stack)
        show(result("  Typst saves back to back (no pause)", saves), "saves/s")
        print(f"    CPU per save, every process: {cpu_ms:.1f} ms")
        figures |= {"back_to_back_p50": statistics.median(saves), "cpu_ms": cpu_ms}
        figures |= await cached(client, resumes[0])
        figures |= await at_once(client, resumes)
        return figures


async def save_then_compile(client: httpx.AsyncClient, resume: dict[str, Any]
                            ) -> dict[str, float]:
    runs: dict[str, list[Run]] = {TYPST: [], LATEX: []}
    plain = PlainPdflatex()
    for round_ in range(ROUNDS):
        for n in range(RUNS):
            await asyncio.sleep(EDIT_PAUSE_SECONDS)
            runs[TYPST].append(await save_and_compile(
                client, resume, TYPST, f"{TYPST} {round_} {n} {time.time()}"))
        for n in range(RUNS):  # each after plain pdflatex on its own source
            runs[LATEX].append(await save_and_compile(
                client, resume, LATEX, f"{LATEX} {round_} {n} {time.time()}", plain))
    typst_saves = [r.save_ms for r in runs[TYPST]]
    latex_saves = [r.save_ms for r in runs[LATEX]]
    latex_compiles = [r.compile_ms for r in runs[LATEX]]
    request_renders = [float(r.job["timings"]["engine_ms"]) for r in runs[TYPST]]
    show(result(f"Typst ({TYPST}) save to succeeded", typst_saves), "saves/s")
    show(result("  compile to succeeded", [r.compile_ms for r in runs[TYPST]]), "compiles/s")
    show(result("  the render, in the request (engine_ms)", request_renders), "renders/s")
    show(result(f"  baseline: LaTeX ({LATEX}) save to succeeded", latex_saves), "saves/s")
    show(result(f"LaTeX ({LATEX}) cold compile to succeeded", latex_compiles), "compiles/s")
    show(result("  baseline: plain pdflatex, same source", plain.ms), "runs/s")
    latex_engine = [float(r.job["timings"]["engine_ms"]) for r in runs[LATEX]]
    print(f"  Typst / LaTeX save to succeeded: x{_ratio(typst_saves, latex_saves):.2f}; "
          f"LaTeX cold / plain pdflatex: x{_ratio(latex_compiles, plain.ms):.2f} from the "
          f"request, x{_ratio(latex_engine, plain.ms):.2f} the worker's pdflatex step")
    print("  server side p50, Typst: " + server_side(runs[TYPST]) + "; LaTeX: "
          + server_side(runs[LATEX]))
    return {"save_p50": statistics.median(typst_saves),
            "request_render_p50": statistics.median(request_renders),
            "latex_ratio": _ratio(latex_compiles, plain.ms),
            "latex_engine_ratio": _ratio(latex_engine, plain.ms)}


def server_side(runs: list[Run]) -> str:
    timings = [r.job["timings"] for r in runs]
    return ", ".join(f"{key} {statistics.median(t[key] for t in timings):.0f} ms"
                     for key in ("queued_ms", "engine_ms", "total_ms"))


async def cached(client: httpx.AsyncClient, resume: dict[str, Any]) -> dict[str, float]:
    """The last version, once compiled, asked again in the same template: finished in the
    POST."""
    ms, status_ms, flags = [], [], set()
    body = {"version": resume["version"], "template": LATEX}
    first = await client.post(f"/api/compile/{resume['id']}", params={"wait": 10}, json=body)
    await until_finished(client, first.json())  # compiled once: every ask after is cached
    started = time.perf_counter()
    for _ in range(CACHED_RUNS):
        asked = time.perf_counter()
        job = (await client.post(f"/api/compile/{resume['id']}", json=body)).json()
        ms.append((time.perf_counter() - asked) * 1000)
        flags.add((job["status"], job["cached"]))
    wall = time.perf_counter() - started
    for _ in range(CACHED_RUNS):
        asked = time.perf_counter()
        (await client.get(job["status_url"])).raise_for_status()
        status_ms.append((time.perf_counter() - asked) * 1000)
    show(result("cached compile (POST, finished in it)", ms, wall), "compiles/s")
    show(result("  baseline: GET of the job's status", status_ms), "reads/s")
    print(f"  cached / status read: x{_ratio(ms, status_ms):.2f}; (status, cached) seen: "
          f"{sorted(flags)}")
    return {"cached_p50": statistics.median(ms)}


async def at_once(client: httpx.AsyncClient, resumes: list[dict[str, Any]]
                  ) -> dict[str, float]:
    """Rounds of N=1 and N=2 LaTeX save-then-compiles at once (of one and two resumes),
    each after plain pdflatex 1 and 2 at once on those resumes as they are."""
    service: dict[int, list[float]] = {1: [], 2: []}
    plain: dict[int, list[float]] = {1: [], 2: []}
    baseline = PlainPdflatex()
    for round_ in range(N_ROUNDS):
        for n in (1, 2):
            started = time.perf_counter()
            await asyncio.gather(*[asyncio.to_thread(baseline, r) for r in resumes[:n]])
            plain[n].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await asyncio.gather(*[save_and_compile(client, r, LATEX, f"N{n} {round_} {i}")
                                   for i, r in enumerate(resumes[:n])])
            service[n].append((time.perf_counter() - started) * 1000)
    for n in (1, 2):
        show(result(f"N={n}: LaTeX save-then-compiles at once (round)", service[n],
                    sum(service[n]) / 1000 / n), "compiles/s")
        show(result(f"  baseline: plain pdflatex, {n} at once", plain[n],
                    sum(plain[n]) / 1000 / n), "runs/s")
    ratio, plain_ratio = _ratio(service[2], service[1]), _ratio(plain[2], plain[1])
    print(f"  N=2 round / N=1 round: service x{ratio:.2f}, plain pdflatex x{plain_ratio:.2f}")
    return {"n2_ratio": ratio}


async def through_the_worker(stack: Stack) -> dict[str, float]:
    """Typst save-then-compiles where the request compiles nothing (TYPST_IN_REQUEST=0)."""
    async with signed_in(stack, "queued@bench.example") as client:
        resume = (await client.post("/api/resume/create", json=document("Queued"))).json()
        await save_and_compile(client, resume, TYPST, f"warm {time.time()}")
        runs = []
        for n in range(RUNS * ROUNDS):
            await asyncio.sleep(EDIT_PAUSE_SECONDS)
            runs.append(await save_and_compile(client, resume, TYPST, f"queued {n} {time.time()}"))
        in_a_row, cpu_ms = await back_to_back(client, resume, stack)
    saves = [r.save_ms for r in runs]
    renders = [float(r.job["timings"]["engine_ms"]) for r in runs]
    print("The same stack with TYPST_IN_REQUEST=0 (every Typst job through the worker):")
    show(result(f"Typst ({TYPST}) save to succeeded, via the worker", saves), "saves/s")
    show(result("  the worker's render (engine_ms)", renders), "renders/s")
    print("  server side p50: " + server_side(runs))
    show(result("  Typst saves back to back (no pause), via the worker", in_a_row), "saves/s")
    print(f"    CPU per save, every process: {cpu_ms:.1f} ms")
    return {"queued_save_p50": statistics.median(saves), "queued_cpu_ms": cpu_ms,
            "worker_render_p50": statistics.median(renders)}


def report(figures: dict[str, float]) -> None:
    print("Targets (issue #16):")
    for line in (
            verdict("Typst save to succeeded p50", figures["save_p50"], 60),
            verdict("  the same, saves back to back", figures["back_to_back_p50"], 60),
            verdict("the Typst render in the request p50", figures["request_render_p50"], 15),
            verdict("the worker's Typst render p50", figures["worker_render_p50"], 15),
            verdict("Typst render in process p50", figures["render_p50"], 15),
            verdict("LaTeX cold compile (the worker's pdflatex step) / plain pdflatex",
                    figures["latex_engine_ratio"], 1.1, "x"),
            verdict("LaTeX cold, request to succeeded / plain pdflatex",
                    figures["latex_ratio"], 1.1, "x"),
            verdict("cached compile p50", figures["cached_p50"], 15)):
        print("  " + line)
    print(f"  Typst save to succeeded, compiled by the request / via the worker: "
          f"x{figures['save_p50'] / figures['queued_save_p50']:.2f}; CPU per save "
          f"x{figures['cpu_ms'] / figures['queued_cpu_ms']:.2f}")
    print(f"  ATS check per PDF p50: {TYPST} {figures[f'ats_{TYPST}_p50']:.1f} ms, "
          f"{LATEX} {figures[f'ats_{LATEX}_p50']:.1f} ms")


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    print(f"start: {load()} ({os.cpu_count()} cores)")
    figures = asyncio.run(in_process())
    with (tempfile.TemporaryDirectory(prefix="bench-compile-") as work,
          procfile_stack("compile", ROOT, Path(work), 12) as stack):
        figures |= asyncio.run(through_gateway(stack))
    with (tempfile.TemporaryDirectory(prefix="bench-compile-") as work,
          procfile_stack("compile_queued", ROOT, Path(work), 14,
                         {"TYPST_IN_REQUEST": "0"}) as stack):
        figures |= asyncio.run(through_the_worker(stack))
    report(figures)
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
