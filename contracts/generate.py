"""Write the JSON Schema of every contract to contracts/schemas/: ``python -m contracts.generate``.

Event payloads are found in every `contracts` module as dicts named `*_EVENTS`."""

import importlib
import json
import pkgutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import contracts
from contracts.envelope import EventEnvelope
from contracts.resume import ResumeDocument

SCHEMA_DIR = Path(__file__).parent / "schemas"


def event_models() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for module_info in pkgutil.iter_modules(contracts.__path__):
        module = importlib.import_module(f"contracts.{module_info.name}")
        for name, value in vars(module).items():
            if name.endswith("_EVENTS") and isinstance(value, dict):
                found.update(value)
    return dict(sorted(found.items()))


def all_schemas() -> dict[str, dict[str, Any]]:
    models: dict[str, type[BaseModel]] = {
        "EventEnvelope": EventEnvelope, "ResumeDocument": ResumeDocument, **event_models()}
    return {name: model.model_json_schema() for name, model in models.items()}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    SCHEMA_DIR.mkdir(exist_ok=True)
    wanted = {f"{name}.json": render(schema) for name, schema in all_schemas().items()}
    for stale in set(p.name for p in SCHEMA_DIR.glob("*.json")) - set(wanted):
        (SCHEMA_DIR / stale).unlink()
    for filename, text in wanted.items():
        (SCHEMA_DIR / filename).write_text(text, encoding="utf-8")
    print(f"wrote {len(wanted)} schemas to {SCHEMA_DIR}")


if __name__ == "__main__":
    main()
