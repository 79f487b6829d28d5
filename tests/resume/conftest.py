from collections.abc import AsyncIterator

import httpx
import pytest

from resume_service.app import create_app
from resume_service.settings import ResumeSettings
from tests.conftest import asgi_client


@pytest.fixture(scope="session")
async def resume_client(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """resume_service in-process, against the real Postgres, Redis and RabbitMQ."""
    app = create_app(ResumeSettings(**service_env))
    async for client in asgi_client(app):
        yield client
