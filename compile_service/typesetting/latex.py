"""The pdfLaTeX engine. It runs TeX as an untrusted program (typesetting.sandbox):

- ``-no-shell-escape -halt-on-error -interaction=nonstopmode``, with ``openin_any=p`` and
  ``openout_any=p`` so TeX reads and writes nothing outside its own run directory, and the
  kpathsea font generators switched off (they would spawn programs);
- in a fresh temporary directory, removed afterwards whatever happened;
- in its own process group, killed as a whole at the wall-clock limit, with limits on
  address space, output file size and CPU time, and a parent-death signal so a worker that is
  killed takes its TeX down with it.
"""

import asyncio
import contextlib
import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

from compile_service.typesetting.engine import CompiledPdf, CompileFailed, EngineUnavailable
from compile_service.typesetting.sandbox import Limits, fresh_run_dir, kill_group, limit_child


class PdfLatex:
    name = "pdflatex"

    def __init__(self, executable: str = "pdflatex", limits: Limits | None = None,
                 work_root: str = "") -> None:
        self.executable, self.limits = executable, limits or Limits()
        self.work_root = work_root or tempfile.gettempdir()

    def fingerprint(self) -> str:
        return "pdflatex/1"

    async def warm_up(self) -> None:
        """Nothing to get ready: each run starts its own pdflatex."""

    def close(self) -> None:
        """Nothing to let go of: each run cleans up after itself."""

    async def compile(self, source: str) -> CompiledPdf:
        binary = shutil.which(self.executable)
        if binary is None:
            raise EngineUnavailable(f"{self.executable} is not installed on this worker")
        workdir = fresh_run_dir(self.work_root)
        try:
            (workdir / "main.tex").write_text(source, encoding="utf-8")
            started = time.monotonic()
            returncode = await self._run(binary, workdir)
            elapsed = int((time.monotonic() - started) * 1000)
            pdf = workdir / "main.pdf"
            if returncode != 0 or not pdf.exists():
                raise CompileFailed(explain_failure(workdir, returncode, self.limits))
            return CompiledPdf(pdf.read_bytes(), elapsed, pages_in_log(workdir / "main.log"))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def _run(self, binary: str, workdir: Path) -> int | None:
        """The exit code, or None when the wall-clock limit killed the process group."""
        process = await asyncio.create_subprocess_exec(
            binary, "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode",
            "-no-mktex=tfm", "-no-mktex=pk", "main.tex",
            cwd=workdir, env=self._environment(workdir), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True, preexec_fn=lambda: limit_child(self.limits),
        )
        try:
            return await asyncio.wait_for(process.wait(), self.limits.wall_seconds)
        except TimeoutError:
            return None
        finally:
            kill_group(process.pid)  # TeX spawns nothing, but make sure nothing outlives it
            with contextlib.suppress(ProcessLookupError):
                await process.wait()

    def _environment(self, workdir: Path) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
            "LANG": "C.UTF-8", "TEXMFOUTPUT": str(workdir), "TEXMFVAR": str(workdir / ".var"),
            "openin_any": "p", "openout_any": "p", "shell_escape": "f",
            "MKTEXTFM": "0", "MKTEXPK": "0", "MKTEXMF": "0", "SOURCE_DATE_EPOCH": "0",
            "FORCE_SOURCE_DATE": "1",
        }


_ERROR_CONTEXT_LINES = 6


def explain_failure(workdir: Path, returncode: int | None, limits: Limits) -> str:
    """A readable reason: the time limit, or the log's error lines, without server paths."""
    if returncode is None:
        return (f"TeX did not finish within the {limits.wall_seconds:g} s time limit and "
                "was stopped")
    log = (workdir / "main.log")
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    excerpt = error_excerpt(text)
    if returncode < 0:
        cause = {signal.SIGXCPU: "CPU time", signal.SIGXFSZ: "output size"}.get(
            signal.Signals(-returncode), "resource")
        return f"TeX was stopped by the {cause} limit" + (f":\n{excerpt}" if excerpt else "")
    return "TeX reported an error:\n" + (excerpt or "(no error message in the log)")


def error_excerpt(log: str) -> str:
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("!"):
            chunk = lines[index:index + _ERROR_CONTEXT_LINES]
            return scrub_paths("\n".join(chunk)).strip()
    return scrub_paths("\n".join(lines[-_ERROR_CONTEXT_LINES:])).strip()


_PATH = re.compile(r"(?:/[\w.+-]+){2,}/?")


def scrub_paths(text: str) -> str:
    """Replace server paths (run directory, TeX tree, home) by their last component."""
    return _PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1], text)


_OUTPUT_WRITTEN = re.compile(rb"Output written on \S+ \((\d+) pages?,")


def pages_in_log(log: Path) -> int | None:
    """The page count TeX reports at the end of its log ("Output written on main.pdf (2
    pages, ...)"); None when the log does not say."""
    try:
        found = _OUTPUT_WRITTEN.search(log.read_bytes()[-4096:])
    except FileNotFoundError:
        return None
    return int(found.group(1)) if found else None
