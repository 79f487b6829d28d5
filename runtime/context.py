"""Per-request context: the request id, which becomes the correlation id of the events a
request causes and appears on every log line written while serving it.

A consumer handling an event sets the same variables from the event's envelope (the
correlation id as the request id, the event id as the causation id), so the events it
appends and the lines it logs carry the id of the request that started the chain. The
service name tells log lines and metrics apart when several services share one process
(tests); in production it is the process's own service."""

import itertools
import os
import secrets
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
causation_id_var: ContextVar[str | None] = ContextVar("causation_id", default=None)
service_var: ContextVar[str | None] = ContextVar("service", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def current_causation_id() -> str | None:
    return causation_id_var.get()


_process_service = "unknown"


def set_process_service(name: str) -> None:
    """The service this process runs (the first one set wins: one service per process)."""
    global _process_service
    if _process_service == "unknown":
        _process_service = name


def current_service() -> str:
    return service_var.get() or _process_service


class _RequestIds:
    """32 hex digits: 64 random bits drawn once per process, then a counter. Unique like a
    uuid4 without a getrandom() call per request (request ids need not be secret)."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix, self.counter = secrets.token_hex(8), itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


new_request_id = _RequestIds().next
