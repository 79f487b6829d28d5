"""Operator tooling, the one layer that knows every service: the `rb` CLI (ops.cli), the
migrations of every service (`python -m ops.migrate`), one service's outbox relay as a
process (`python -m ops.relay SERVICE`) and the layering check (`python -m ops.check_layers`).

It wires the generic machinery of `runtime` to the services through the registrations they
hand over (runtime.registry, listed in ops.services)."""
