"""A process tree started by honcho, and how to stop all of it (for the e2e stacks and the
benchmarks' stacks alike): honcho puts each child in a session of its own, so signalling
honcho's process group does not reach them."""

import contextlib
import os
import signal
import subprocess
from pathlib import Path

STOP_GRACE = 15.0


def _stat(pid_dir: Path) -> tuple[int, str]:
    """(parent pid, start time) of a /proc entry."""
    fields = (pid_dir / "stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), fields[19]


def process_tree(pid: int) -> dict[int, str]:
    """Every descendant of `pid` with its start time (honcho puts each child in a session
    of its own, so signalling honcho's process group does not reach them)."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent, started = _stat(entry)
            children.setdefault(parent, []).append((int(entry.name), started))
    found, todo = {}, [pid]
    while todo:
        for child, started in children.get(todo.pop(), []):
            found[child] = started
            todo.append(child)
    return found


def stop(process: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    """SIGTERM to honcho, which stops its children (SIGKILL after its own 5 s); then
    SIGKILL to whatever of its tree outlived the grace period."""
    tree = process_tree(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pid, started in tree.items():  # what honcho did not stop: still the same process?
        with contextlib.suppress(OSError, IndexError, ValueError):
            if _stat(Path(f"/proc/{pid}"))[1] == started:
                os.kill(pid, signal.SIGKILL)
