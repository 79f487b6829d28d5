"""ai_service's HTTP edge: no redirects, 405 with Allow (two routes share /ai/rate/{id}), the
version to rate and the status wait bounded (422 before the database sees them)."""

import uuid

import httpx

from runtime.bounds import INT4_MAX
from tests.http_edges import (
    assert_allow,
    assert_trailing_slash_is_404,
    assert_versions_refused,
    assert_waits_refused,
)
from tests.integration.ai.conftest import Headers


async def test_a_trailing_slash_is_404_not_a_redirect(ai_api: httpx.AsyncClient,
                                                      as_user: Headers, user_id: str) -> None:
    await assert_trailing_slash_is_404(ai_api, as_user(user_id), f"/ai/rate/{uuid.uuid4()}/",
                                       f"/ai/ratings/{uuid.uuid4()}/")


async def test_405_allows_every_method_of_the_path(ai_api: httpx.AsyncClient) -> None:
    await assert_allow(ai_api, "DELETE", f"/ai/rate/{uuid.uuid4()}", {"GET", "POST"})
    await assert_allow(ai_api, "POST", f"/ai/ratings/{uuid.uuid4()}", {"GET"})


async def test_versions_out_of_the_columns_range_are_422(ai_api: httpx.AsyncClient,
                                                         as_user: Headers,
                                                         user_id: str) -> None:
    await assert_versions_refused(ai_api, as_user(user_id), f"/ai/rate/{uuid.uuid4()}",
                                  122252874468)


async def test_a_status_wait_beyond_the_bound_is_422(ai_api: httpx.AsyncClient,
                                                     as_user: Headers, user_id: str) -> None:
    await assert_waits_refused(ai_api, as_user(user_id), f"/ai/ratings/{uuid.uuid4()}")


async def test_openapi_shows_the_version_bound(ai_api: httpx.AsyncClient) -> None:
    spec = (await ai_api.get("/openapi.json")).json()
    version = spec["components"]["schemas"]["RateIn"]["properties"]["version"]["anyOf"][0]
    assert (version["minimum"], version["maximum"]) == (1, INT4_MAX)
