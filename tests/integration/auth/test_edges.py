"""auth_service's HTTP edge: no redirects to its own address, 405 with Allow."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from auth_service.app import create_app
from auth_service.settings import AuthSettings
from tests.conftest import asgi_client
from tests.http_edges import assert_allow, assert_trailing_slash_is_404
from tests.integration.gateway.conftest import closed_port_url


@pytest.fixture(scope="module")
async def auth_api(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = AuthSettings(**service_env, dev_login_enabled=True, cookie_secure=False,
                            oidc_client_id="")
    async for client in asgi_client(create_app(settings), base_url="http://auth"):
        yield client


async def test_a_trailing_slash_is_404_not_a_redirect(auth_api: httpx.AsyncClient,
                                                      as_user: Any, user_id: str) -> None:
    await assert_trailing_slash_is_404(auth_api, as_user(user_id), "/user/me/", "/auth/login/")


async def test_405_allows_every_method_of_the_path(auth_api: httpx.AsyncClient) -> None:
    await assert_allow(auth_api, "GET", "/auth/logout", {"POST"})
    await assert_allow(auth_api, "GET", "/auth/dev-login", {"POST"})
    await assert_allow(auth_api, "PUT", "/user/me", {"GET", "DELETE"})


async def test_an_unreachable_identity_provider_is_503_with_retry_after(
        service_env: dict[str, str]) -> None:
    settings = AuthSettings(**service_env, cookie_secure=False, oidc_client_id="client",
                            oidc_client_secret="secret",
                            oidc_server_metadata_url=f"{closed_port_url()}/.well-known/x")
    async for client in asgi_client(create_app(settings), base_url="http://auth"):
        response = await client.get("/auth/login")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "identity_provider_unavailable"
    assert response.headers["retry-after"] == "5"
