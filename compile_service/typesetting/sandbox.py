"""How an engine runs an untrusted program: in a fresh temporary run directory (removed
afterwards whatever happened, and swept at start when a killed worker left it), in its own
process group killed as a whole at the wall-clock limit, with limits on address space,
output file size and CPU time, and a parent-death signal so a worker that is killed takes
its child down with it."""

import contextlib
import ctypes
import os
import resource
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

RUN_PREFIX = "rb-compile-"
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 20.0
    memory_bytes: int = 1024 * 2**20
    max_file_bytes: int = 64 * 2**20


def limit_child(limits: Limits) -> None:
    """Runs in the child between fork and exec: resource limits and parent-death signal."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes))
    cpu = int(limits.wall_seconds) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def fresh_run_dir(work_root: str, purpose: str = "") -> Path:
    """A new run directory, named for this process (and `purpose`, when given) so that a
    sweep after a crash knows whose it was."""
    os.makedirs(work_root, exist_ok=True)
    tag = f"{purpose}-" if purpose else ""
    return Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-{tag}", dir=work_root))


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)



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
