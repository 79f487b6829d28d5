"""The layering rule, checked on the source with `ast`: ``python -m ops.check_layers [ROOT]``.

- the shared layer (`runtime`, `contracts`) imports no service and not `ops`;
- a service (`gateway`, `auth_service`, `resume_service`, `compile_service`, `ai_service`,
  `live_service`)
  imports no other service and not `ops`;
- `ops`, `tests` and `bench` may import anything.

Imports by name count too: `importlib.import_module(...)` and `__import__(...)` with a
literal name, or an f-string whose literal start names the package (`f"contracts.{name}"`).
One whose package cannot be read from the source (`f"{service}.tables"`) is refused, since
it could name anything. Prints one line per offending import and exits 1; exits 0 when clean.
"""

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SHARED = ("runtime", "contracts")
SERVICES = ("gateway", "auth_service", "resume_service", "compile_service", "ai_service",
            "live_service")
OPERATOR = "ops"
DYNAMIC = "a module named at run time"
IMPORT_FUNCTIONS = ("import_module", "__import__")


@dataclass(frozen=True)
class Violation:
    path: Path  # relative to the root checked
    line: int
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.imported} ({self.rule})"


def violations(root: Path) -> list[Violation]:
    """Every import under `root` that breaks the rule, in path and line order."""
    found: list[Violation] = []
    for package in (*SHARED, *SERVICES):
        for path in sorted((root / package).rglob("*.py")):
            found += sorted(_check_module(root, path, package), key=lambda v: v.line)
    return found


def _rule(package: str) -> tuple[frozenset[str], str]:
    """The top-level packages `package` must not import, and the rule saying so."""
    if package in SHARED:
        return frozenset({*SERVICES, OPERATOR}), "runtime and contracts import no service"
    return (frozenset({*SERVICES, OPERATOR} - {package}),
            "a service imports no other service and not ops")


def _check_module(root: Path, path: Path, package: str) -> Iterator[Violation]:
    forbidden, rule = _rule(package)
    relative = path.relative_to(root)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for line, imported in imported_modules(tree, _package_of(relative)):
        if imported is None or imported.split(".")[0] in forbidden:
            yield Violation(relative, line, imported or DYNAMIC, rule)


def _package_of(relative: Path) -> str:
    """The dotted package a module's relative imports start from."""
    return ".".join(relative.parent.parts)


def imported_modules(tree: ast.AST, package: str) -> Iterator[tuple[int, str | None]]:
    """(line, dotted module) of every import in `tree`; None for a name known only at run
    time. Relative imports are resolved against `package`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, _resolve(node.module, node.level, package)
        elif isinstance(node, ast.Call) and _calls_an_import_function(node) and node.args:
            yield node.lineno, _named_module(node.args[0], package)


def _resolve(module: str | None, level: int, package: str) -> str:
    if level == 0:
        return module or ""
    base = package.split(".")[:len(package.split(".")) - (level - 1)]
    return ".".join([*base, *([module] if module else [])])


def _calls_an_import_function(call: ast.Call) -> bool:
    function = call.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    return name in IMPORT_FUNCTIONS


def _named_module(argument: ast.expr, package: str) -> str | None:
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        name = argument.value
        return package if name.startswith(".") else name
    if isinstance(argument, ast.JoinedStr) and argument.values:
        start = argument.values[0]
        if isinstance(start, ast.Constant) and "." in str(start.value):
            return str(start.value).split(".")[0]  # the package is literal, the rest is not
    return None


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[1]
    found = violations(root)
    for violation in found:
        print(violation)
    if found:
        print(f"{len(found)} import(s) break the layers (docs/architecture.md, Layers)",
              file=sys.stderr)
        return 1
    print(f"layers ok: {', '.join(SHARED)} import no service; no service imports another")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
