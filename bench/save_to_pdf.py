"""Save-then-compile through the gateway, the whole Procfile stack running as `make up` runs it:
a writer saves fresh content (PUT /api/resume/update/{id}), asks for that version's PDF
(POST /api/compile/{id}) and long-polls the job until it succeeded. Timed from the save's
request to `succeeded`, and from the compile request to `succeeded`, p50 and p99, for a Typst
template and, in alternating runs of the same stack, for a LaTeX one (the baseline).

Run with the local services up: ``.venv/bin/python bench/save_to_pdf.py`` (about a minute).
Target (issue #16): Typst, compile request to `succeeded`, p50 at most 60 ms."""

import asyncio
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.common import ROOT
from bench.stack import procfile_stack
from bench.write_path import document

RUNS, ROUNDS = 15, 3
TEMPLATES = ("compact", "classic")  # Typst, then the LaTeX baseline


async def save_and_compile(client: httpx.AsyncClient, resume: dict[str, Any],
                           template: str, n: int) -> tuple[float, float]:
    """One save of fresh content and its PDF: (ms from the save, ms from the compile)."""
    started = time.perf_counter()
    saved = await client.put(f"/api/resume/update/{resume['id']}",
                             json=with_fresh_bullet(resume, f"{template} {n} {time.time()}"))
    saved.raise_for_status()
    asked = time.perf_counter()
    job = await client.post(f"/api/compile/{resume['id']}",
                            json={"version": saved.json()["version"], "template": template})
    job.raise_for_status()
    body = job.json()
    while body["status"] not in ("succeeded", "failed"):
        body = (await client.get(body["status_url"], params={"wait": 10})).json()
    if body["status"] != "succeeded":
        raise RuntimeError(f"{template}: {body.get('error_code')} {body.get('error')}")
    done = time.perf_counter()
    resume.update(saved.json())
    return (done - started) * 1000, (done - asked) * 1000


def with_fresh_bullet(resume: dict[str, Any], text: str) -> dict[str, Any]:
    """The resume with its first bullet rewritten: content every template prints, so no PDF
    of it was made before."""
    sections = copy.deepcopy(resume["sections"])
    item = next(i for s in sections for i in s["items"] if i.get("bullets"))
    item["bullets"][0] = f"Shipped change {text} to production"
    return {**resume, "sections": sections}


async def drive(gateway: str) -> dict[str, list[tuple[float, float]]]:
    async with httpx.AsyncClient(base_url=gateway, headers={"Origin": gateway},
                                 timeout=60) as client:
        (await client.post("/api/auth/dev-login",
                           json={"email": "save-to-pdf@bench.example"})).raise_for_status()
        resume = (await client.post("/api/resume/create",
                                    json=document("Save to PDF"))).json()
        for template in TEMPLATES:  # warm-up: engines, caches, connections
            await save_and_compile(client, resume, template, -1)
        timings: dict[str, list[tuple[float, float]]] = {t: [] for t in TEMPLATES}
        for _ in range(ROUNDS):
            for template in TEMPLATES:
                for n in range(RUNS):
                    timings[template].append(
                        await save_and_compile(client, resume, template, n))
        return timings


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-save-pdf-") as work:
        with procfile_stack("save_to_pdf", ROOT, Path(work), 10) as stack:
            timings = asyncio.run(drive(stack.gateway))
    for template, runs in timings.items():
        saves, compiles = [r[0] for r in runs], [r[1] for r in runs]
        print(f"{template:<8} save to succeeded p50 {statistics.median(saves):7.1f} ms  "
              f"p99 {p(saves, 99):7.1f} ms   compile to succeeded p50 "
              f"{statistics.median(compiles):7.1f} ms  p99 {p(compiles, 99):7.1f} ms")
    typst = statistics.median(r[1] for r in timings["compact"])
    latex = statistics.median(r[1] for r in timings["classic"])
    print(f"Typst over LaTeX, compile to succeeded: x{typst / latex:.2f}; "
          f"Typst p50 {typst:.1f} ms (target <= 60 ms)")


if __name__ == "__main__":
    main()
