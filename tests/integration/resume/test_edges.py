"""resume_service's HTTP edge: no redirects, 405 with Allow, versions bounded to what the
int4 version columns hold (422 before the database ever sees them)."""

import uuid

from runtime.bounds import INT4_MAX
from tests.http_edges import (
    TOO_BIG,
    assert_allow,
    assert_refused,
    assert_trailing_slash_is_404,
    parameter_schema,
)
from tests.integration.resume.test_api import DOC, create


async def test_a_trailing_slash_is_404_not_a_redirect(resume_api, as_user, user_id):
    rid = (await create(resume_api, as_user(user_id)))["id"]
    await assert_trailing_slash_is_404(resume_api, as_user(user_id), "/resume/all/",
                                       f"/resume/{rid}/", f"/resume/{rid}/history/")


async def test_405_allows_every_method_of_the_path(resume_api):
    rid = uuid.uuid4()
    await assert_allow(resume_api, "DELETE", "/resume/all", {"GET"})
    await assert_allow(resume_api, "GET", f"/resume/update/{rid}", {"PUT"})
    await assert_allow(resume_api, "PATCH", f"/resume/{rid}", {"GET"})
    await assert_allow(resume_api, "GET", f"/resume/{rid}/restore/1", {"POST"})


async def test_versions_out_of_the_columns_range_are_422(resume_api, as_user, user_id):
    headers = as_user(user_id)
    rid = (await create(resume_api, headers))["id"]
    for version in (4733318197, 99999999999999, TOO_BIG, 0, -1):
        assert_refused(await resume_api.post(f"/resume/{rid}/restore/{version}",
                                             headers=headers), "version")
        assert_refused(await resume_api.get(f"/resume/{rid}/versions/{version}",
                                            headers=headers), "version")
        assert_refused(await resume_api.put(f"/resume/update/{rid}", headers=headers,
                                            json={**DOC, "version": version}), "version")
    at_the_bound = await resume_api.get(f"/resume/{rid}/versions/{INT4_MAX}", headers=headers)
    assert at_the_bound.status_code == 404


async def test_a_version_out_of_range_is_422_whoever_owns_the_resume(resume_api, as_user,
                                                                     user_id):
    rid = (await create(resume_api, as_user(user_id)))["id"]
    intruder = as_user(f"intruder-{uuid.uuid4()}")
    for resume in (rid, uuid.uuid4()):  # another user's, and none at all
        assert_refused(await resume_api.post(f"/resume/{resume}/restore/0", headers=intruder),
                       "version")
        assert_refused(await resume_api.get(f"/resume/{resume}/versions/0", headers=intruder),
                       "version")


async def test_if_match_beyond_the_version_range_is_400(resume_api, as_user, user_id):
    headers = as_user(user_id)
    rid = (await create(resume_api, headers))["id"]
    # b"\xb2": "²" once decoded (latin-1), which str.isdigit accepts and int() refuses
    for tag in (b'"4733318197"', b"99999999999999999999", b'"0"', b"\xb2", b'"-1"', b'W/""'):
        response = await resume_api.put(f"/resume/update/{rid}", json=DOC,
                                        headers={**headers, "If-Match": tag})
        assert response.status_code == 400, (tag, response.text)
        assert response.json()["error"]["code"] == "bad_if_match"
    stale = await resume_api.put(f"/resume/update/{rid}", json=DOC,
                                 headers={**headers, "If-Match": f'W/"{INT4_MAX}"'})
    assert stale.status_code == 409


async def test_openapi_shows_the_version_bounds(resume_api):
    spec = (await resume_api.get("/openapi.json")).json()
    schema = parameter_schema(spec, "/resume/{resume_id}/restore/{version}", "post", "version")
    assert (schema["minimum"], schema["maximum"]) == (1, INT4_MAX)
    body = spec["components"]["schemas"]["ResumeIn"]["properties"]["version"]["anyOf"][0]
    assert (body["minimum"], body["maximum"]) == (1, INT4_MAX)
