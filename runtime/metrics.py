"""Prometheus metrics of each service, in a registry of its own, and the HTTP middleware
that records requests (count and latency by route template and status) and writes the
access-log line of a request when the trace policy (ACCESS_LOG, runtime.logs) keeps it.

Each service's metrics live in its own `CollectorRegistry`, found by service name, so the
`/metrics` of a service (served by its ops listener, runtime.ops) shows only its own series
even when tests run several services in one process. Runtime code finds the service from the
context (runtime.context: set by this middleware for requests and by the bus for consumers)
or, for the outbox relay, from the schema it relays (service `<schema>_service`, the naming
every service's registration follows). An EventStore counts appends in the ServiceMetrics its
service passes in.

Names: `rb_http_requests_total`, `rb_http_request_duration_seconds`, `rb_events_appended_total`,
`rb_events_published_total`, `rb_outbox_backlog`, `rb_outbox_oldest_unpublished_age_seconds`,
`rb_consumer_handle_duration_seconds`, `rb_consumer_retries_total`,
`rb_consumer_dead_lettered_total`, `rb_cache_lookups_total`; services add their own through
`ServiceMetrics.counter/histogram`.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.context import current_service, new_request_id, request_id_var, service_var
from runtime.http import _incoming_request_id
from runtime.logs import TracePolicy

access_log = logging.getLogger("runtime.access")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0)
WORK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)
UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass
class ServiceMetrics:
    """The metric objects of one service; `counter`/`histogram` add service-specific ones."""

    service: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    _extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        r = self.registry
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=r)
        self.http_requests = Counter("rb_http_requests_total", "HTTP requests answered.",
                                     ("method", "route", "status"), registry=r)
        self.http_latency = Histogram(
            "rb_http_request_duration_seconds", "Time to answer an HTTP request.",
            ("method", "route", "status"), buckets=LATENCY_BUCKETS, registry=r)
        self.events_appended = Counter(
            "rb_events_appended_total", "Events appended to this service's store.",
            ("event_type",), registry=r)
        self.events_published = Counter(
            "rb_events_published_total", "Events the outbox relay published (confirmed).",
            ("event_type",), registry=r)
        self.outbox_backlog = Gauge("rb_outbox_backlog", "Events waiting in the outbox.",
                                    registry=r)
        self.outbox_oldest_age = Gauge(
            "rb_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest event still in the outbox (0 when empty).", registry=r)
        self.consumer_duration = Histogram(
            "rb_consumer_handle_duration_seconds", "Time a consumer spent on one delivery.",
            ("consumer", "event_type", "outcome"), buckets=WORK_BUCKETS, registry=r)
        self.consumer_retries = Counter(
            "rb_consumer_retries_total", "Deliveries that failed and were put back to retry.",
            ("consumer",), registry=r)
        self.consumer_dead_lettered = Counter(
            "rb_consumer_dead_lettered_total", "Messages a consumer sent to its DLQ.",
            ("consumer",), registry=r)
        self.cache_lookups = Counter(
            "rb_cache_lookups_total", "Redis read-cache lookups by result (hit or miss).",
            ("cache", "result"), registry=r)

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        return self._get(name, lambda: Counter(name, doc, labels, registry=self.registry))

    def histogram(self, name: str, doc: str, labels: Sequence[str] = (),
                  buckets: Sequence[float] = WORK_BUCKETS) -> Histogram:
        return self._get(name, lambda: Histogram(name, doc, labels, buckets=buckets,
                                                 registry=self.registry))

    def _get(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self._extra:
            self._extra[name] = make()
        return self._extra[name]

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


_SERVICES: dict[str, ServiceMetrics] = {}


def service_metrics(service: str) -> ServiceMetrics:
    """The metrics of `service`, made on first use."""
    metrics = _SERVICES.get(service)
    if metrics is None:
        metrics = _SERVICES[service] = ServiceMetrics(service)
    return metrics


def current_metrics() -> ServiceMetrics:
    """The metrics of the service the current request or consumer belongs to."""
    return service_metrics(current_service())


def service_of_schema(schema: str) -> str:
    return f"{schema}_service"


RouteOf = Callable[[Scope], str]


def route_template(scope: Scope) -> str:
    """The template of the route that served the request (`/resume/{resume_id}`), so labels
    stay few; requests no route matched share one label."""
    route = scope.get("route")
    path = getattr(route, "path_format", None)  # without convertors: `{id}`, not `{id:uuid}`
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class ObservabilityMiddleware:
    """Outermost layer of a service: fixes the request id (taken from X-Request-ID or made,
    and written back into the request headers so the code inside uses the same one), returns
    it on the response, tags the context with the service, counts and times the request, and
    logs its access line as `trace` says: every request (`all`), or only a failed one
    (status >= 400) or a slow one, plus with `sampled` the requests whose id is sampled.

    A proxy (the gateway) passes `log_only_problems`: the service that served a request logs
    it under the same request id, so the proxy writes a line only for a request that failed
    (including the ones it refused itself) or was slow."""

    def __init__(self, app: ASGIApp, service: str, metrics: bool = True,
                 trace: TracePolicy = TracePolicy(), route_of: RouteOf = route_template,
                 log_only_problems: bool = False, echo_request_id: bool = True) -> None:
        self.app, self.service, self.route_of = app, service, route_of
        self.echo_request_id = echo_request_id
        self.metrics = service_metrics(service) if metrics else None
        self.trace, self.log_only_problems = trace, log_only_problems
        # labelled children, looked up once per (method, route, status): labels() is slow
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        if request_id is None:
            request_id = new_request_id()
            scope["headers"] = [*scope["headers"], (b"x-request-id", request_id.encode())]
        id_token, service_token = request_id_var.set(request_id), service_var.set(self.service)
        status, streamed = 500, False
        started = time.perf_counter()

        async def send_observed(message: Message) -> None:
            nonlocal status, streamed
            if message["type"] == "http.response.start":
                status = message["status"]
                streamed = any(name == b"content-type" and value.startswith(b"text/event-stream")
                               for name, value in message.get("headers", ()))
                if self.echo_request_id:
                    message["headers"] = [*message.get("headers", ()),
                                          (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            self._record(scope, request_id, status, time.perf_counter() - started, streamed)
            request_id_var.reset(id_token)
            service_var.reset(service_token)

    def _record(self, scope: Scope, request_id: str, status: int, seconds: float,
                streamed: bool = False) -> None:
        """`streamed`: an event stream, which lasts as long as its client wants: never slow."""
        route, method = self.route_of(scope), scope["method"]
        method = method if method in KNOWN_METHODS else "OTHER"  # labels stay bounded
        if self.metrics is not None:
            children = self._children.get((method, route, status))
            if children is None:
                labels = (method, route, str(status))
                children = self._children[(method, route, status)] = (
                    self.metrics.http_requests.labels(*labels),
                    self.metrics.http_latency.labels(*labels))
            children[0].inc()
            children[1].observe(seconds)
        problem = status >= 400 or (seconds >= self.trace.slow_seconds and not streamed)
        if (self.log_only_problems and not problem) or not self.trace.keeps(request_id, problem):
            return
        if access_log.isEnabledFor(logging.INFO):
            path = self.trace.shown_path(scope["path"])
            access_log.info("%s %s %d", method, path, status, extra={"data": {
                "method": method, "route": route, "status": status,
                "duration_ms": round(seconds * 1000, 2)}})
