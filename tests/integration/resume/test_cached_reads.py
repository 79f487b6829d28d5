"""The cache-hit shortcut of resume_service (resume_service.cached_reads), through the real app
and the real Redis: it serves exactly what the app served, never to a caller the app would
refuse, and a miss is the app's to answer."""

import re
import time

from runtime.identity import IDENTITY_HEADER, IdentitySigner
from runtime.metrics import service_metrics
from tests.conftest import OTHER_KEY, token_for
from tests.integration.resume.test_api import create


def exposition() -> str:
    """What resume_service's /metrics shows (its ops listener is off in this in-process app)."""
    return service_metrics("resume_service").exposition().decode()


def lookups(result: str) -> float:
    text = exposition()
    match = re.search(rf'rb_cache_lookups_total{{cache="rc:resume",result="{result}"}} (\S+)',
                      text)
    return float(match.group(1)) if match else 0.0


async def test_a_hit_is_the_body_the_app_served_with_request_id_and_route_label(
        resume_api, as_user, user_id):
    headers = as_user(user_id)
    rid = (await create(resume_api, headers))["id"]
    first = await resume_api.get(f"/resume/{rid}", headers=headers)
    hits_before = lookups("hit")
    second = await resume_api.get(f"/resume/{rid}", headers={**headers, "X-Request-ID": "r-1"})
    assert lookups("hit") == hits_before + 1
    assert second.status_code == 200
    assert second.content == first.content
    assert second.headers["content-type"] == "application/json"
    assert second.headers["x-request-id"] == "r-1"
    metrics = exposition()
    assert 'route="/resume/{resume_id}",status="200"' in metrics


async def test_a_miss_goes_through_the_app_which_stores_what_the_next_read_hits(
        resume_api, as_user, user_id):
    headers = as_user(user_id)
    await create(resume_api, headers)  # drops the user's cache: the next list is a miss
    hits = lookups("hit")
    listed = await resume_api.get("/resume/all", headers=headers)
    assert listed.status_code == 200 and len(listed.json()) == 1
    assert lookups("hit") == hits  # the shortcut's lookup and the route's both missed
    again = await resume_api.get("/resume/all", headers=headers)
    assert lookups("hit") == hits + 1
    assert again.content == listed.content


async def test_a_warm_cache_is_never_served_without_a_valid_identity(resume_api, as_user,
                                                                     user_id):
    headers = as_user(user_id)
    rid = (await create(resume_api, headers))["id"]
    for _ in range(2):
        assert (await resume_api.get(f"/resume/{rid}", headers=headers)).status_code == 200
    target = f"/resume/{rid}"
    expired = token_for("resume", "GET", target, user_id, now=time.time() - 3600 * 2)
    forged = IdentitySigner(OTHER_KEY).sign(user_id, "resume", "GET", target.encode()).decode()
    elsewhere = token_for("resume", "GET", "/resume/all", user_id)
    for token in (expired, forged, elsewhere, "v2." + user_id):
        response = await resume_api.get(f"/resume/{rid}", headers={IDENTITY_HEADER: token})
        assert response.status_code == 401, token
        assert response.json()["error"]["code"] == "unauthenticated"


async def test_another_form_of_the_id_and_another_user_go_through_the_app(
        resume_api, as_user, user_id):
    headers = as_user(user_id)
    rid = (await create(resume_api, headers))["id"]
    cached = await resume_api.get(f"/resume/{rid}", headers=headers)
    upper = await resume_api.get(f"/resume/{rid.upper()}", headers=headers)
    assert upper.status_code == 200 and upper.json() == cached.json()
    other = await resume_api.get(f"/resume/{rid}", headers=as_user(user_id + "-other"))
    assert other.status_code == 404
