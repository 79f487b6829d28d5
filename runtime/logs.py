"""Logging of every process: one JSON object per line, carrying the service and the request
id, so that one `grep` of an id across all services' logs shows the whole story of a request.

While a request is served the id is its X-Request-ID; while a consumer handles an event it is
the event's correlation id (the request that caused it), and the line also names the
consumer and the event. In a terminal (stderr is a TTY) or with LOG_FORMAT=console the lines
are human-readable instead. Configured once per process by `setup_logging`; later calls (other
apps built in the same process, as in tests) change nothing.
"""

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson

from runtime.context import (
    causation_id_var,
    current_request_id,
    current_service,
    request_id_var,
    service_var,
)

LogFormat = Literal["auto", "json", "console"]

# extra fields of the lines written inside a block (the consumer and event being handled)
_fields_var: ContextVar[dict[str, Any] | None] = ContextVar("log_fields", default=None)
_configured = False


class ContextFilter(logging.Filter):
    """Stamps each record, when it is made, with the service, request id and bound fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = current_service()
        record.request_id = current_request_id()
        record.fields = _fields_var.get()
        return True


class JsonFormatter(logging.Formatter):
    _second, _second_text = -1, ""

    def _timestamp(self, created: float) -> str:
        """ISO 8601 UTC with milliseconds; the part up to the second is made once a second."""
        second = int(created)
        if second != self._second:
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._second_text}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname, "service": getattr(record, "service", None),
            "logger": record.name, "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        for extra in (getattr(record, "fields", None), getattr(record, "data", None)):
            if extra:
                entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class ConsoleFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(service)s %(name)s: %(message)s",
                         datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [{request_id}]" if request_id else line


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def make_formatter(log_format: LogFormat) -> logging.Formatter:
    console = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    return ConsoleFormatter() if console else JsonFormatter()


def make_handler(log_format: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """A handler with the context filter and the chosen format (to stderr by default)."""
    handler: logging.Handler = (logging.StreamHandler(stream) if stream is not None
                                else _StderrHandler())
    handler.addFilter(ContextFilter())
    handler.setFormatter(make_formatter(log_format))
    return handler


def setup_logging(log_format: LogFormat = "auto", level: str = "INFO",
                  access_log: bool = True) -> None:
    """Send every logger (uvicorn's too) through one handler on the root logger. Once per
    process. uvicorn's own access log is silenced when ours (runtime.access) is on."""
    global _configured
    if _configured:
        return
    _configured = True
    # no line shows the caller's file, thread or process: skip collecting them for each
    # record (the logging HOWTO's "Optimization" settings)
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.addHandler(make_handler(log_format))
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = access_log
    logging.getLogger("runtime.access").disabled = not access_log


@contextlib.contextmanager
def event_context(service: str, consumer: str, event_type: str, event_id: str,
                  correlation_id: str | None) -> Iterator[None]:
    """While a consumer handles one event: its lines and the events it appends carry the
    correlation id of the request that started the chain, and the event as their cause."""
    tokens = (request_id_var.set(correlation_id), causation_id_var.set(event_id),
              service_var.set(service))
    fields = _fields_var.set({"consumer": consumer, "event_type": event_type,
                              "event_id": event_id})
    try:
        yield
    finally:
        _fields_var.reset(fields)
        request_id_var.reset(tokens[0])
        causation_id_var.reset(tokens[1])
        service_var.reset(tokens[2])
