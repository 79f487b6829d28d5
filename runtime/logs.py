"""Logging of every process: one JSON object per line, carrying the service and the request
id, so that one `grep` of an id across all services' logs shows the whole story of a request.

While a request is served the id is its X-Request-ID; while a consumer handles an event it is
the event's correlation id (the request that caused it), and the line also names the
consumer and the event. In a terminal (stderr is a TTY) or with LOG_FORMAT=console the lines
are human-readable instead. Configured once per process by `setup_logging`; later calls (other
apps built in the same process, as in tests) change nothing.

The per-request and per-message lines (an access line per request, runtime.metrics; a line per
consumed message, runtime.bus) follow a `TracePolicy` (ACCESS_LOG): `all` of them, or only
the problems (a failed or slow request or delivery) plus, with `sampled`, every line of one
request in ACCESS_LOG_SAMPLE, chosen by its request id, so a sampled request keeps its whole
trace across services and consumers (an event's correlation id is the request's id). Warnings,
errors and every other line are always written.
"""

import contextlib
import logging
import sys
import zlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
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
AccessLog = Literal["all", "sampled", "problems", "off"]
# the loggers that write a line per consumed message, at INFO, with data["outcome"]
PER_MESSAGE_LOGGERS = frozenset({"runtime.bus"})

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


@dataclass(frozen=True)
class TracePolicy:
    """Which per-request and per-message lines are written (see the module's docstring)."""

    mode: AccessLog = "all"
    sample_every: int = 20  # `sampled`: one request id in this many
    slow_seconds: float = 1.0  # a request or delivery this slow is a problem
    # paths whose rest is a capability (a share link's slug): written as the prefix and "…"
    hidden_prefixes: tuple[str, ...] = ()

    def shown_path(self, path: str) -> str:
        for prefix in self.hidden_prefixes:
            if path.startswith(prefix) and len(path) > len(prefix):
                return prefix + "…"
        return path

    def keeps(self, request_id: str | None, problem: bool) -> bool:
        if self.mode == "all":
            return True
        if self.mode == "off":
            return False
        return problem or (self.mode == "sampled" and sampled(request_id, self.sample_every))


def sampled(request_id: str | None, every: int) -> bool:
    """The same answer for one id in every process: a stable hash, not a random draw."""
    return request_id is not None and zlib.crc32(request_id.encode()) % every == 0


class PerMessageFilter(logging.Filter):
    """Applies the trace policy to the consumers' line per message (made by runtime.bus);
    after the ContextFilter, which stamps the record's request id."""

    def __init__(self, policy: TracePolicy) -> None:
        super().__init__()
        self.policy = policy
        self.slow_ms = policy.slow_seconds * 1000

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or record.name not in PER_MESSAGE_LOGGERS:
            return True
        data = getattr(record, "data", None) or {}
        problem = (data.get("outcome") != "handled"
                   or data.get("duration_ms", 0.0) >= self.slow_ms)
        return self.policy.keeps(getattr(record, "request_id", None), problem)


def make_formatter(log_format: LogFormat) -> logging.Formatter:
    console = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    return ConsoleFormatter() if console else JsonFormatter()


def make_handler(log_format: LogFormat, stream: TextIO | None = None,
                 trace: TracePolicy | None = None) -> logging.Handler:
    """A handler with the context filter and the chosen format (to stderr by default), and
    the trace policy for the consumers' lines per message (None: all of them)."""
    handler: logging.Handler = (logging.StreamHandler(stream) if stream is not None
                                else _StderrHandler())
    handler.addFilter(ContextFilter())
    if trace is not None and trace.mode != "all":
        handler.addFilter(PerMessageFilter(trace))
    handler.setFormatter(make_formatter(log_format))
    return handler


def setup_logging(log_format: LogFormat = "auto", level: str = "INFO",
                  trace: TracePolicy = TracePolicy()) -> None:
    """Send every logger (uvicorn's too) through one handler on the root logger. Once per
    process. uvicorn's own access log is silenced unless ours (runtime.access) is off."""
    global _configured
    if _configured:
        return
    _configured = True
    # no line shows the caller's file, thread or process: skip collecting them for each
    # record (the logging HOWTO's "Optimization" settings)
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.addHandler(make_handler(log_format, trace=trace))
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # httpx writes a line per request at INFO: a service calling another would log every
    # call twice (ours is the access line of the request that made it)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    access_log = trace.mode != "off"
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
