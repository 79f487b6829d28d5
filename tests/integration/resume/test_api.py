"""resume_service through its HTTP API, on the real Postgres, Redis and RabbitMQ."""

import asyncio
import uuid

import httpx

from runtime.identity import IDENTITY_HEADER, IdentitySigner
from tests.conftest import OTHER_KEY

DOC = {
    "title": "Backend engineer",
    "contact": {"name": "Ada Lovelace", "email": "ada@example.com",
                "links": [{"label": "GitHub", "url": "https://github.com/ada"}]},
    "sections": [{"title": "Experience", "kind": "experience", "items": [
        {"title": "Engineer", "subtitle": "Analytical Engines", "start_date": "1842",
         "bullets": ["Wrote the first program"]}]}],
}


async def create(client: httpx.AsyncClient, headers: dict[str, str], **extra: object) -> dict:
    response = await client.post("/resume/create", json={**DOC, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_created_resume_is_read_back_with_version_1(resume_api, as_user, user_id):
    headers = as_user(user_id)
    created = await create(resume_api, headers)
    assert created["version"] == 1
    response = await resume_api.get(f"/resume/{created['id']}", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["contact"]["name"] == "Ada Lovelace"
    assert body["sections"][0]["items"][0]["bullets"] == ["Wrote the first program"]


async def test_update_is_visible_to_the_next_read_even_when_cached(resume_api, as_user,
                                                                   user_id):
    headers = as_user(user_id)
    created = await create(resume_api, headers)
    rid = created["id"]
    for _ in range(2):  # warm the cache for both read routes
        await resume_api.get(f"/resume/{rid}", headers=headers)
        await resume_api.get("/resume/all", headers=headers)
    update = await resume_api.put(f"/resume/update/{rid}", headers=headers,
                                     json={**created, "title": "Staff engineer"})
    assert update.status_code == 200, update.text
    assert update.json()["version"] == 2
    one = await resume_api.get(f"/resume/{rid}", headers=headers)
    everything = await resume_api.get("/resume/all", headers=headers)
    assert one.json()["title"] == "Staff engineer"
    assert [r["title"] for r in everything.json()] == ["Staff engineer"]


async def test_exactly_one_of_two_racing_updates_wins(resume_api, as_user, user_id):
    headers = as_user(user_id)
    created = await create(resume_api, headers)
    rid = created["id"]
    results = await asyncio.gather(*(
        resume_api.put(f"/resume/update/{rid}", headers=headers,
                          json={**DOC, "title": f"writer {n}", "version": 1})
        for n in range(2)))
    assert sorted(r.status_code for r in results) == [200, 409]
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json()["error"]["current_version"] == 2
    winner = next(r for r in results if r.status_code == 200).json()
    current = (await resume_api.get(f"/resume/{rid}", headers=headers)).json()
    assert current["title"] == winner["title"] and current["version"] == 2


async def test_racing_updates_without_a_version_all_land_one_after_another(
        resume_api, as_user, user_id):
    """Writers that lost the optimistic race are decided again behind the append lock: each
    lands as a version of its own, and the read model ends at the newest."""
    headers = as_user(user_id)
    rid = (await create(resume_api, headers))["id"]
    others = [(await create(resume_api, headers))["id"] for _ in range(2)]
    results = await asyncio.gather(*(
        resume_api.put(f"/resume/update/{target}", headers=headers,
                       json={**DOC, "title": f"writer {n}"})
        for n, target in enumerate([rid] * 8 + others * 2)))
    assert [r.status_code for r in results] == [200] * 12, [r.text for r in results]
    on_rid = [r.json() for r in results[:8]]
    assert sorted(r["version"] for r in on_rid) == list(range(2, 10))
    newest = max(on_rid, key=lambda r: r["version"])
    current = (await resume_api.get(f"/resume/{rid}", headers=headers)).json()
    assert (current["version"], current["title"]) == (9, newest["title"])
    history = (await resume_api.get(f"/resume/{rid}/history", headers=headers)).json()
    assert [h["version"] for h in history] == list(range(1, 10))


async def test_if_match_header_carries_the_expected_version(resume_api, as_user, user_id):
    headers = as_user(user_id)
    rid = (await create(resume_api, headers))["id"]
    stale = await resume_api.put(f"/resume/update/{rid}", json=DOC,
                                    headers={**headers, "If-Match": '"7"'})
    assert stale.status_code == 409
    fresh = await resume_api.put(f"/resume/update/{rid}", json=DOC,
                                    headers={**headers, "If-Match": '"1"'})
    assert fresh.status_code == 200
    bad = await resume_api.put(f"/resume/update/{rid}", json=DOC,
                                  headers={**headers, "If-Match": "abc"})
    assert bad.status_code == 400


async def test_another_user_gets_404_on_every_route(resume_api, as_user, user_id):
    rid = (await create(resume_api, as_user(user_id)))["id"]
    intruder = as_user(f"intruder-{uuid.uuid4()}")
    calls = [
        resume_api.get(f"/resume/{rid}", headers=intruder),
        resume_api.put(f"/resume/update/{rid}", json=DOC, headers=intruder),
        resume_api.delete(f"/resume/delete/{rid}", headers=intruder),
        resume_api.get(f"/resume/{rid}/history", headers=intruder),
        resume_api.get(f"/resume/{rid}/versions/1", headers=intruder),
        resume_api.post(f"/resume/{rid}/restore/1", headers=intruder),
    ]
    for response in await asyncio.gather(*calls):
        assert response.status_code == 404, (response.request.url, response.text)
        assert response.json() == {"error": {"code": "resume_not_found",
                                             "message": "no such resume"}}
    listing = await resume_api.get("/resume/all", headers=intruder)
    assert listing.json() == []
    still_there = await resume_api.get(f"/resume/{rid}", headers=as_user(user_id))
    assert still_there.json()["version"] == 1


async def test_client_chosen_id_create_is_idempotent(resume_api, as_user, user_id):
    headers, rid = as_user(user_id), str(uuid.uuid4())
    first = await resume_api.post(f"/resume/create/{rid}", json=DOC, headers=headers)
    again = await resume_api.post(f"/resume/create/{rid}", json=DOC, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["version"] == 1 and again.json()["id"] == rid
    taken = await resume_api.post(f"/resume/create/{rid}", json=DOC,
                                     headers=as_user(f"other-{uuid.uuid4()}"))
    assert taken.status_code == 409


async def test_delete_hides_the_resume_and_keeps_its_id_taken(resume_api, as_user, user_id):
    headers = as_user(user_id)
    rid = (await create(resume_api, headers))["id"]
    await resume_api.get(f"/resume/{rid}", headers=headers)  # cached
    assert (await resume_api.delete(f"/resume/delete/{rid}", headers=headers)).status_code == 204
    assert (await resume_api.get(f"/resume/{rid}", headers=headers)).status_code == 404
    assert (await resume_api.delete(f"/resume/delete/{rid}", headers=headers)).status_code == 404
    recreate = await resume_api.post(f"/resume/create/{rid}", json=DOC, headers=headers)
    assert recreate.status_code == 409


async def test_history_old_versions_and_restore(resume_api, as_user, user_id):
    headers = as_user(user_id)
    created = await create(resume_api, headers)
    rid = created["id"]
    await resume_api.put(f"/resume/update/{rid}", headers=headers,
                            json={**DOC, "title": "Second", "version": 1})
    history = (await resume_api.get(f"/resume/{rid}/history", headers=headers)).json()
    assert [(h["version"], h["event_type"]) for h in history] == [
        (1, "ResumeCreated"), (2, "ResumeUpdated")]
    assert "title changed" in history[1]["summary"]
    old = (await resume_api.get(f"/resume/{rid}/versions/1", headers=headers)).json()
    assert old["document"]["title"] == DOC["title"]
    missing = await resume_api.get(f"/resume/{rid}/versions/9", headers=headers)
    assert missing.status_code == 404
    restored = await resume_api.post(f"/resume/{rid}/restore/1", headers=headers)
    assert restored.status_code == 200
    assert restored.json()["version"] == 3 and restored.json()["title"] == DOC["title"]
    history = (await resume_api.get(f"/resume/{rid}/history", headers=headers)).json()
    assert history[-1]["summary"] == "restored version 1"


async def test_missing_or_forged_identity_is_401(resume_api, user_id):
    assert (await resume_api.get("/resume/all")).status_code == 401
    forged = IdentitySigner(OTHER_KEY).sign(user_id, "resume", "GET", b"/resume/all")
    response = await resume_api.get("/resume/all", headers={IDENTITY_HEADER: forged.decode()})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_invalid_document_is_422_with_field_paths(resume_api, as_user, user_id):
    body = {**DOC, "sections": [{"title": "x" * 500, "kind": "nonsense"}]}
    response = await resume_api.post("/resume/create", json=body, headers=as_user(user_id))
    assert response.status_code == 422
    paths = {f["path"] for f in response.json()["error"]["fields"]}
    assert {"sections.0.title", "sections.0.kind"} <= paths


async def test_malformed_json_is_422_not_500(resume_api, as_user, user_id):
    response = await resume_api.post(
        "/resume/create", content=b"{not json", headers={
            **as_user(user_id), "content-type": "application/json"})
    assert response.status_code == 422


async def test_body_over_the_limit_is_413(resume_api, as_user, user_id):
    section = {"title": "s", "items": [{"description": "x" * 5000} for _ in range(50)]}
    huge = {**DOC, "sections": [section, section]}  # about 500 KB, each field within limits
    response = await resume_api.post("/resume/create", json=huge, headers=as_user(user_id))
    assert response.status_code == 413


def bullets_document(count: int) -> dict:
    """`count` bullets spread over items of 30 and sections of 50 items (each list within
    its bound)."""
    items = [{"title": f"item {n}", "bullets": [f"b{n}.{b}" for b in range(30)]}
             for n in range(-(-count // 30))]
    items[-1]["bullets"] = items[-1]["bullets"][:count - 30 * (len(items) - 1)]
    sections = [{"title": f"s{n}", "items": items[at:at + 50]}
                for n, at in enumerate(range(0, len(items), 50))]
    return {**DOC, "sections": sections}


async def test_ten_thousand_bullets_are_refused_by_the_document_limits(
        resume_api, as_user, user_id):
    headers = as_user(user_id)
    response = await resume_api.post("/resume/create", json=bullets_document(10_000),
                                     headers=headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["count"], error["limit"]) == ("too_many_bullets", 10_000, 2000)
    created = await create(resume_api, headers)
    update = await resume_api.put(f"/resume/update/{created['id']}", headers=headers,
                                  json={**bullets_document(2001), "version": 1})
    assert update.status_code == 422
    assert update.json()["error"]["code"] == "too_many_bullets"
    at_the_limit = await resume_api.put(f"/resume/update/{created['id']}", headers=headers,
                                        json={**bullets_document(2000), "version": 1})
    assert at_the_limit.status_code == 200, at_the_limit.text


async def test_unknown_resume_and_bad_id_are_404_and_a_route_name_is_no_id(
        resume_api, as_user, user_id):
    headers = as_user(user_id)
    assert (await resume_api.get(f"/resume/{uuid.uuid4()}", headers=headers)).status_code == 404
    assert (await resume_api.get("/resume/not-a-uuid", headers=headers)).status_code == 404
    create = await resume_api.get("/resume/create", headers=headers)
    assert create.status_code == 405
    assert create.headers["allow"] == "POST"
    assert (await resume_api.get(f"/resume/{uuid.uuid4()}/history",
                                 headers=headers)).status_code == 404


async def test_openapi_documents_every_route_with_its_errors(resume_api):
    spec = (await resume_api.get("/openapi.json")).json()
    update = spec["paths"]["/resume/update/{resume_id}"]["put"]
    assert {"404", "409", "413", "422", "401"} <= set(update["responses"])
    assert len(spec["paths"]) >= 8


async def test_nul_character_is_refused_with_422_not_500(resume_api, as_user, user_id):
    body = {**DOC, "sections": [{"title": "a\x00b"}]}
    response = await resume_api.post("/resume/create", json=body, headers=as_user(user_id))
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "sections.0.title"


async def test_racing_creates_with_one_client_id_make_one_resume(resume_api, as_user,
                                                                 user_id):
    headers, rid = as_user(user_id), str(uuid.uuid4())
    results = await asyncio.gather(*(
        resume_api.post(f"/resume/create/{rid}", json={**DOC, "title": f"t{n}"},
                           headers=headers) for n in range(3)))
    assert sorted(r.status_code for r in results) == [200, 200, 201]
    assert {r.json()["version"] for r in results} == {1}
    history = (await resume_api.get(f"/resume/{rid}/history", headers=headers)).json()
    assert len(history) == 1
