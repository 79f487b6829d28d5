"""The FastAPI app every service builds the same way around its own routes and lifespan."""

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager

from fastapi import APIRouter, FastAPI

from runtime.http import install_http_plumbing
from runtime.observe import install_observability
from runtime.settings import ServiceSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def service_app(service: str, settings: ServiceSettings, lifespan: Lifespan,
                router: APIRouter, install_error_handlers: Callable[[FastAPI], None],
                body_limits: Mapping[str, int] | None = None) -> FastAPI:
    """The error shape, body limit (`body_limits`: paths with their own) and observability
    every service has, and its routes."""
    app = FastAPI(title=service, version="1.0.0", lifespan=lifespan,
                  redirect_slashes=False)  # a redirect would name this service's address
    install_http_plumbing(app, settings.max_body_bytes, body_limits)
    install_error_handlers(app)
    app.include_router(router)
    install_observability(app, service, settings)
    return app
