"""The JSON Resume package (npm `@jsonresume/schema`, pinned in package-lock.json and
installed by `make test` with `npm ci`): its schema, sample resume and examples."""

import json
from pathlib import Path
from typing import Any

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "node_modules" / "@jsonresume" / "schema"


def load(name: str) -> Any:
    path = PACKAGE / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `npm ci` (make install does)")
    return json.loads(path.read_text(encoding="utf-8"))


def schema() -> dict[str, Any]:
    return load("schema.json")


def samples() -> dict[str, Any]:
    names = ["sample.resume.json", *(f"examples/{p.name}"
                                     for p in sorted((PACKAGE / "examples").glob("*.json")))]
    return {name: load(name) for name in names}


def without_empty(value: Any) -> Any:
    """The value with empty strings, lists and objects dropped, as the round trip compares."""
    if isinstance(value, dict):
        kept = {key: without_empty(v) for key, v in value.items()}
        return {key: v for key, v in kept.items() if v not in ("", [], {}, None)}
    if isinstance(value, list):
        kept_items = [without_empty(v) for v in value]
        return [v for v in kept_items if v not in ("", [], {}, None)]
    return value
