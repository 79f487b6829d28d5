"""The engine on hostile TeX directly (what escaping should never let through): no file is
read outside the run directory, no file is written outside it, no command runs, a loop is
killed at the limit, and no run directory is left behind."""

import time
from pathlib import Path

import pytest

from compile_service.typesetting.engine import CompileFailed
from compile_service.typesetting.latex import PdfLatex
from compile_service.typesetting.sandbox import Limits, sweep_stale_runs

HEAD = "\\documentclass{article}\\begin{document}\n"
TAIL = "\n\\end{document}\n"


@pytest.fixture
def engine(tmp_path: Path) -> PdfLatex:
    return PdfLatex(limits=Limits(wall_seconds=3), work_root=str(tmp_path / "runs"))


async def failure(engine: PdfLatex, body: str) -> str:
    with pytest.raises(CompileFailed) as caught:
        await engine.compile(HEAD + body + TAIL)
    return str(caught.value)


async def test_input_of_an_absolute_path_is_refused(engine: PdfLatex) -> None:
    message = await failure(engine, "\\input{/etc/passwd}")
    assert "not found" in message and "root:" not in message


async def test_reading_a_parent_directory_file_is_refused(engine: PdfLatex,
                                                          tmp_path: Path) -> None:
    (tmp_path / "runs" / "secret.tex").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "runs" / "secret.tex").write_text("TOPSECRET")
    message = await failure(engine, "\\input{../secret}")
    assert "TOPSECRET" not in message


async def test_write18_runs_nothing(engine: PdfLatex, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    pdf = await engine.compile(HEAD + f"x\\immediate\\write18{{touch {marker}}}" + TAIL)
    assert pdf.data.startswith(b"%PDF") and not marker.exists()


async def test_writing_outside_the_run_directory_is_refused(engine: PdfLatex,
                                                            tmp_path: Path) -> None:
    target = tmp_path / "written.txt"
    await failure(engine, f"\\newwrite\\out\\immediate\\openout\\out={target}"
                          "\\immediate\\write\\out{hi}\\immediate\\closeout\\out x")
    assert not target.exists()


async def test_a_loop_is_killed_at_the_wall_clock_limit(engine: PdfLatex,
                                                        tmp_path: Path) -> None:
    started = time.monotonic()
    message = await failure(engine, "\\def\\x{\\x}\\x")
    assert time.monotonic() - started < 3 + 1.5
    assert "3 s time limit" in message
    assert list((tmp_path / "runs").iterdir()) == []


async def test_the_memory_limit_applies_to_tex(tmp_path: Path) -> None:
    engine = PdfLatex(limits=Limits(wall_seconds=10, memory_bytes=64 * 2**20),
                      work_root=str(tmp_path))
    with pytest.raises(CompileFailed):
        await engine.compile(HEAD + "x" + TAIL)  # too little to load the format


async def test_run_directories_of_dead_workers_are_swept(tmp_path: Path) -> None:
    stale = tmp_path / "rb-compile-999999999-abc"
    stale.mkdir()
    live = tmp_path / "rb-compile-1-abc"  # pid 1 is alive
    live.mkdir()
    assert sweep_stale_runs(str(tmp_path)) == 1
    assert not stale.exists() and live.exists()
