"""No event type, consumer (queue) name or bound routing key is spelled out as a string
outside contracts/: production code takes event types from the event classes
(`SomeEvent.event_type`) and the rest from contracts.topology."""

import ast
import importlib
import pkgutil
from pathlib import Path

import contracts
from contracts.topology import CONSUMERS, dead_letter_queue

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("runtime", "gateway", "auth_service", "resume_service", "compile_service",
              "ai_service", "live_service", "ops")
# Migration revisions are left out: a revision records the schema as it was the day it was
# written, so it must not follow a contract renamed later (none spells out a name today).
FROZEN = "migrations/versions"

# Files allowed to spell names out (none: resume_service's went with its reshaping).
ALLOWED: set[str] = set()

Literal = tuple[str, int, str]  # (path from the root, line, the string)


def known_names() -> set[str]:
    """Every event type (each `*_EVENTS` dict of contracts), every consumer and its DLQ, and
    every routing key a consumer binds."""
    names: set[str] = set()
    for module_info in pkgutil.iter_modules(contracts.__path__):
        module = importlib.import_module(f"contracts.{module_info.name}")
        for name, value in vars(module).items():
            if name.endswith("_EVENTS") and isinstance(value, dict):
                names |= set(value)
    names |= set(CONSUMERS) | {dead_letter_queue(c) for c in CONSUMERS}
    return names | {key for keys in CONSUMERS.values() for key in keys}


def literals_in(path: Path, names: set[str], root: Path = ROOT) -> list[Literal]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return sorted((str(path.relative_to(root)), node.lineno, node.value)
                  for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and node.value in names)


def production_literals() -> list[Literal]:
    names = known_names()
    return sorted(literal for package in PRODUCTION
                  for path in (ROOT / package).rglob("*.py") if FROZEN not in path.as_posix()
                  for literal in literals_in(path, names))


def test_no_production_module_spells_out_a_name_from_contracts() -> None:
    found = [f"{path}:{line}: {value!r}" for path, line, value in production_literals()
             if path not in ALLOWED]
    assert not found, ("use SomeEvent.event_type and contracts.topology instead of:\n"
                       + "\n".join(found))


def test_every_allowed_file_still_needs_its_place() -> None:
    stale = ALLOWED - {path for path, _, _ in production_literals()}
    assert not stale, f"no name literal left in {sorted(stale)}: take them off ALLOWED"


def test_the_search_finds_names_and_only_whole_ones(tmp_path: Path) -> None:
    names = known_names()
    assert {"ResumeDeleted", "compile_service.jobs", "compile_service.jobs.dlq",
            "compile.CompileRequested"} <= names
    module = tmp_path / "module.py"
    module.write_text('"""ResumeDeleted is named in a docstring: fine."""\n'
                      'deleted = kind == "ResumeDeleted"\n'
                      'queue = f"{name}.dlq"\n'
                      'QUEUES = ("compile_service.jobs.dlq",)\n')
    assert literals_in(module, names, tmp_path) == [
        ("module.py", 2, "ResumeDeleted"), ("module.py", 4, "compile_service.jobs.dlq")]
