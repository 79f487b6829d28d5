"""Engines turn rendered source into a PDF. The interface is small on purpose (a Typst
engine is planned next); `PdfLatex` runs TeX as an untrusted program:

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
import ctypes
import os
import re
import resource
import shutil
import signal
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

RUN_PREFIX = "rb-compile-"
_PR_SET_PDEATHSIG = 1


class CompileFailed(Exception):
    """The source did not compile; `str()` is a readable reason for the user."""


class EngineUnavailable(Exception):
    """The engine cannot run here (not installed): an operator problem, worth a retry."""


@dataclass(frozen=True)
class CompiledPdf:
    data: bytes
    engine_ms: int


class Engine(Protocol):
    name: str

    def fingerprint(self) -> str:
        """What identifies this engine's output in content addresses."""
        ...

    async def compile(self, source: str) -> CompiledPdf:
        """The PDF of `source`; raises CompileFailed or EngineUnavailable."""
        ...


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 20.0
    memory_bytes: int = 1024 * 2**20
    max_file_bytes: int = 64 * 2**20


def _limit_child(limits: Limits) -> None:
    """Runs in the child between fork and exec: resource limits and parent-death signal."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes))
    cpu = int(limits.wall_seconds) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class PdfLatex:
    name = "pdflatex"

    def __init__(self, executable: str = "pdflatex", limits: Limits | None = None,
                 work_root: str = "") -> None:
        self.executable, self.limits = executable, limits or Limits()
        self.work_root = work_root or tempfile.gettempdir()

    def fingerprint(self) -> str:
        return "pdflatex/1"

    async def compile(self, source: str) -> CompiledPdf:
        binary = shutil.which(self.executable)
        if binary is None:
            raise EngineUnavailable(f"{self.executable} is not installed on this worker")
        workdir = self._fresh_run_dir()
        try:
            (workdir / "main.tex").write_text(source, encoding="utf-8")
            started = time.monotonic()
            returncode = await self._run(binary, workdir)
            elapsed = int((time.monotonic() - started) * 1000)
            pdf = workdir / "main.pdf"
            if returncode != 0 or not pdf.exists():
                raise CompileFailed(explain_failure(workdir, returncode, self.limits))
            return CompiledPdf(pdf.read_bytes(), elapsed)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _fresh_run_dir(self) -> Path:
        os.makedirs(self.work_root, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-", dir=self.work_root))

    async def _run(self, binary: str, workdir: Path) -> int | None:
        """The exit code, or None when the wall-clock limit killed the process group."""
        process = await asyncio.create_subprocess_exec(
            binary, "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode",
            "-no-mktex=tfm", "-no-mktex=pk", "main.tex",
            cwd=workdir, env=self._environment(workdir), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True, preexec_fn=lambda: _limit_child(self.limits),
        )
        try:
            return await asyncio.wait_for(process.wait(), self.limits.wall_seconds)
        except TimeoutError:
            return None
        finally:
            _kill_group(process.pid)  # TeX spawns nothing, but make sure nothing outlives it
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


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


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


def sweep_stale_runs(work_root: str) -> int:
    """Remove run directories left by worker processes that died (SIGKILL skips cleanup)."""
    root = Path(work_root or tempfile.gettempdir())
    removed = 0
    for path in root.glob(f"{RUN_PREFIX}*-*"):
        pid = path.name.removeprefix(RUN_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
