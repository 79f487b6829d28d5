"""compile_service's HTTP edge: no redirects, 405 with Allow, the version to compile and the
status wait bounded (422 before the database sees them)."""

import uuid

import httpx

from runtime.bounds import INT4_MAX
from tests.http_edges import (
    assert_allow,
    assert_trailing_slash_is_404,
    assert_versions_refused,
    assert_waits_refused,
)
from tests.integration.compile.conftest import Headers


async def test_a_trailing_slash_is_404_not_a_redirect(compile_api: httpx.AsyncClient,
                                                      as_user: Headers, user_id: str) -> None:
    await assert_trailing_slash_is_404(compile_api, as_user(user_id), "/compile/templates/",
                                       f"/compile/status/{uuid.uuid4()}/")


async def test_405_allows_every_method_of_the_path(compile_api: httpx.AsyncClient) -> None:
    await assert_allow(compile_api, "GET", f"/compile/{uuid.uuid4()}", {"POST"})
    # "templates" is no resume id: POST /compile/{resume_id} does not take it
    await assert_allow(compile_api, "DELETE", "/compile/templates", {"GET"})
    await assert_allow(compile_api, "POST", "/compile/templates", {"GET"})
    await assert_allow(compile_api, "POST", f"/compile/pdf/{uuid.uuid4()}", {"GET"})


async def test_versions_out_of_the_columns_range_are_422(compile_api: httpx.AsyncClient,
                                                         as_user: Headers,
                                                         user_id: str) -> None:
    await assert_versions_refused(compile_api, as_user(user_id), f"/compile/{uuid.uuid4()}",
                                  11944594430895)


async def test_a_status_wait_beyond_the_bound_is_422(compile_api: httpx.AsyncClient,
                                                     as_user: Headers, user_id: str) -> None:
    await assert_waits_refused(compile_api, as_user(user_id), f"/compile/status/{uuid.uuid4()}")


async def test_openapi_shows_the_version_bound(compile_api: httpx.AsyncClient) -> None:
    spec = (await compile_api.get("/openapi.json")).json()
    version = spec["components"]["schemas"]["CompileIn"]["properties"]["version"]["anyOf"][0]
    assert (version["minimum"], version["maximum"]) == (1, INT4_MAX)


async def test_a_compile_request_s_wait_beyond_the_bound_is_422(
        compile_api: httpx.AsyncClient, as_user: Headers, user_id: str) -> None:
    await assert_waits_refused(compile_api, as_user(user_id), f"/compile/{uuid.uuid4()}",
                               method="POST")
