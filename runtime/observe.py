"""One call per process to make it observable: JSON logs and the request/metrics middleware.
Switched by METRICS_ENABLED, LOG_FORMAT, LOG_LEVEL and ACCESS_LOG (with ACCESS_LOG_SAMPLE
and ACCESS_LOG_SLOW_SECONDS: which access and consumer lines are written, runtime.logs). The
metrics are served by the process's ops listener (runtime.ops, on OPS_PORT), never by its
public listener."""

from fastapi import FastAPI
from starlette.types import ASGIApp

from runtime.context import set_process_service
from runtime.logs import setup_logging
from runtime.metrics import (
    ObservabilityMiddleware,
    RouteOf,
    route_template,
)
from runtime.settings import ServiceSettings


def install_observability(app: FastAPI, service: str, settings: ServiceSettings) -> None:
    """Call after the other middleware is added, so this one is the outermost. It also gives
    each request its id (X-Request-ID), metrics and access log on or off."""
    _setup_process(service, settings)
    # always: it is also the layer that fixes and returns the request id
    app.add_middleware(ObservabilityMiddleware, service=service,
                       metrics=settings.metrics_enabled, trace=settings.trace_policy())


def observed_proxy(app: ASGIApp, service: str, settings: ServiceSettings,
                   route_of: RouteOf = route_template) -> ASGIApp:
    """The same for a plain ASGI proxy (the gateway): wraps it.
    Its access lines are only for failed or slow requests (the services log the rest)."""
    _setup_process(service, settings)
    if not settings.metrics_enabled and settings.access_log == "off":
        return app
    return ObservabilityMiddleware(app, service, metrics=settings.metrics_enabled,
                                   trace=settings.trace_policy(), route_of=route_of,
                                   log_only_problems=True, echo_request_id=False)


def observe_process(service: str, settings: ServiceSettings) -> None:
    """For a process without HTTP (outbox relay, standalone worker): its logs (its metrics are
    on the ops listener its main coroutine runs)."""
    _setup_process(service, settings)


def _setup_process(service: str, settings: ServiceSettings) -> None:
    set_process_service(service)
    setup_logging(settings.log_format, settings.log_level, settings.trace_policy())
