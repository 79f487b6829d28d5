"""Per-request context: the request id, which becomes the correlation id of the events a
request causes and appears on every log line written while serving it."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()
