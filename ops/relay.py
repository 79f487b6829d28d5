"""Run one service's outbox relay as its own process: ``python -m ops.relay resume_service``
(runtime.relay does the work; this picks the service's registration)."""

import sys

from ops.services import UnknownService, registration
from runtime.lifecycle import run_process
from runtime.relay import main

if __name__ == "__main__":
    try:
        service = registration(sys.argv[1] if len(sys.argv) == 2 else "")
    except UnknownService as exc:
        sys.exit(f"usage: python -m ops.relay SERVICE ({exc})")
    run_process(main(service))
