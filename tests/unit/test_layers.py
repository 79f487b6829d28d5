"""The layering check (ops.check_layers) passes on the real tree and fails on a tree that
breaks each of its rules."""

import subprocess
import sys
import textwrap
from pathlib import Path

from ops.check_layers import DYNAMIC, violations

ROOT = Path(__file__).resolve().parents[2]

# a small tree: path -> source; every module marked BAD breaks the rule on its first line
FAKE_TREE = {
    "runtime/__init__.py": "",
    "runtime/views.py": "import resume_service.domain  # BAD",
    "runtime/relay.py": """\
        import importlib
        tables = importlib.import_module(f"{service}.tables")  # BAD
        ok = importlib.import_module(f"contracts.{name}")
        """,
    "runtime/fine.py": "from contracts.topology import CONSUMERS\nfrom . import views\n",
    "contracts/generate.py": """\
        from importlib import import_module
        import_module("ai_service.tables")  # BAD
        """,
    "contracts/admin.py": "from ops.services import SERVICES  # BAD",
    "gateway/proxy.py": "from auth_service.settings import AuthSettings  # BAD",
    "resume_service/__init__.py": "",
    "resume_service/worker.py": """\
        from typing import TYPE_CHECKING
        from . import tables
        from resume_service.domain import fold
        if TYPE_CHECKING:
            from compile_service.tables import jobs  # BAD
        """,
    "resume_service/tables.py": "from runtime.eventstore import EventTables",
    "ops/services.py": "from resume_service.registration import REGISTRATION",
    "tests/test_any.py": "import gateway, auth_service, ops",
    "bench/any.py": "import compile_service.worker",
}


def write_tree(root: Path) -> set[tuple[str, int]]:
    """Write FAKE_TREE under `root`; the (path, line) of every line marked BAD."""
    bad = set()
    for name, source in FAKE_TREE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        bad |= {(name, n) for n, line in enumerate(path.read_text().splitlines(), 1)
                if line.endswith("# BAD")}
    return bad


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops.check_layers", str(root)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_the_real_tree_keeps_its_layers() -> None:
    assert violations(ROOT) == []
    result = check(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_rule_fails_a_tree_that_breaks_it(tmp_path: Path) -> None:
    bad = write_tree(tmp_path)
    found = violations(tmp_path)
    assert {(str(v.path), v.line) for v in found} == bad
    assert {v.imported for v in found} == {
        "resume_service.domain", DYNAMIC, "ai_service.tables", "ops.services",
        "auth_service.settings", "compile_service.tables"}


def test_the_command_lists_the_offending_imports_and_exits_1(tmp_path: Path) -> None:
    write_tree(tmp_path)
    result = check(tmp_path)
    assert result.returncode == 1
    assert "runtime/views.py:1: imports resume_service.domain (runtime and contracts import " \
           "no service)" in result.stdout.splitlines()
    assert len(result.stdout.splitlines()) == len(violations(tmp_path))
