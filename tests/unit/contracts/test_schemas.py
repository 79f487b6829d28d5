"""The committed JSON Schema files match the Pydantic contracts."""

from contracts.generate import SCHEMA_DIR, all_schemas, render


def test_committed_json_schemas_are_current() -> None:
    expected = {f"{name}.json": render(schema) for name, schema in all_schemas().items()}
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json")}
    stale = sorted(name for name in expected.keys() | committed.keys()
                   if expected.get(name) != committed.get(name))
    assert not stale, f"run `python -m contracts.generate`; stale: {stale}"


def test_every_resume_event_has_a_schema() -> None:
    assert {"ResumeCreated", "ResumeUpdated", "ResumeDeleted", "EventEnvelope"} <= set(
        all_schemas())
