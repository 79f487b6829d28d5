"""compile_service's HTTP edge: no redirects, 405 with Allow, the version to compile and the
status wait bounded (422 before the database sees them)."""

import uuid

import httpx

from runtime.bounds import INT4_MAX
from tests.compile.conftest import Headers
from tests.http_edges import TOO_BIG, assert_allow, assert_refused, assert_trailing_slash_is_404


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
    for version in (11944594430895, TOO_BIG, 0, -1):
        response = await compile_api.post(f"/compile/{uuid.uuid4()}", json={"version": version},
                                          headers=as_user(user_id))
        assert_refused(response, "version")


async def test_a_status_wait_beyond_the_bound_is_422(compile_api: httpx.AsyncClient,
                                                     as_user: Headers, user_id: str) -> None:
    for wait in ("61", "-1", "inf", "nan", "1e400"):
        response = await compile_api.get(f"/compile/status/{uuid.uuid4()}",
                                         params={"wait": wait}, headers=as_user(user_id))
        assert_refused(response, "wait")


async def test_openapi_shows_the_version_bound(compile_api: httpx.AsyncClient) -> None:
    spec = (await compile_api.get("/openapi.json")).json()
    version = spec["components"]["schemas"]["CompileIn"]["properties"]["version"]["anyOf"][0]
    assert (version["minimum"], version["maximum"]) == (1, INT4_MAX)
