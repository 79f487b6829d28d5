"""The gateway end to end: sessions, identity, ownership, CSRF, CORS and failure answers,
with real HTTP between the gateway and the services."""

import asyncio
import uuid

from redis.asyncio import Redis

from runtime.identity import IDENTITY_HEADER
from tests.conftest import REDIS_URL, token_for
from tests.integration.gateway.conftest import FRONTEND, Stack, sign_in

SAME_SITE = {"Origin": FRONTEND}


async def _create_resume(client, title: str = "Mine") -> dict:  # type: ignore[no-untyped-def]
    response = await client.post("/api/resume/create", json={"title": title}, headers=SAME_SITE)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_signed_in_user_creates_and_reads_a_resume_with_the_cookie_alone(
        stack: Stack) -> None:
    async with stack.client() as client:
        await sign_in(stack, client)
        created = await _create_resume(client, "Staff engineer")
        read = await client.get(f"/api/resume/{created['id']}")
        assert read.status_code == 200
        assert read.json()["title"] == "Staff engineer"
        listed = await client.get("/api/resume/all")
        assert [r["id"] for r in listed.json()] == [created["id"]]


async def test_every_route_but_sign_in_needs_a_session(stack: Stack) -> None:
    async with stack.client() as client:
        for method, path in (("GET", "/api/resume/all"), ("GET", "/api/user/me"),
                             ("POST", "/api/auth/logout"), ("GET", "/api/compile/status/x"),
                             ("GET", f"/api/resume/{uuid.uuid4()}")):
            response = await client.request(method, path, headers=SAME_SITE)
            assert response.status_code == 401, path
            assert response.json()["error"]["code"] == "unauthenticated"
        bogus = await client.get("/api/resume/all", headers={"Cookie": "rb_session=made-up"})
        assert bogus.status_code == 401


async def test_forged_identity_header_is_ignored(stack: Stack) -> None:
    async with stack.client() as alice, stack.client() as bob:
        await sign_in(stack, alice)
        resume = await _create_resume(alice)
        alice_id = (await alice.get("/api/user/me")).json()["id"]
        forged = {IDENTITY_HEADER: token_for("resume", "GET", f"/resume/{resume['id']}",
                                             alice_id)}

        anonymous = await bob.get(f"/api/resume/{resume['id']}", headers=forged)
        assert anonymous.status_code == 401

        await sign_in(stack, bob)
        as_bob = await bob.get(f"/api/resume/{resume['id']}", headers=forged)
        assert as_bob.status_code == 404
        assert (await bob.get("/api/user/me", headers=forged)).json()["id"] != alice_id


async def test_another_user_gets_404_on_every_resume_route(stack: Stack) -> None:
    async with stack.client() as alice, stack.client() as bob:
        await sign_in(stack, alice)
        await sign_in(stack, bob)
        rid = (await _create_resume(alice))["id"]
        attempts = [("GET", f"/api/resume/{rid}", None),
                    ("PUT", f"/api/resume/update/{rid}", {"title": "x", "version": 1}),
                    ("DELETE", f"/api/resume/delete/{rid}", None),
                    ("GET", f"/api/resume/{rid}/history", None),
                    ("GET", f"/api/resume/{rid}/versions/1", None),
                    ("POST", f"/api/resume/{rid}/restore/1", None)]
        for method, path, body in attempts:
            response = await bob.request(method, path, json=body, headers=SAME_SITE)
            assert response.status_code == 404, (method, path, response.text)
        taken = await bob.post(f"/api/resume/create/{rid}", json={}, headers=SAME_SITE)
        assert taken.status_code in (404, 409)  # the id is never handed over
        assert (await alice.get(f"/api/resume/{rid}")).json()["title"] == "Mine"
        assert (await bob.get("/api/resume/all")).json() == []


async def test_logout_kills_the_session_at_once_and_drops_the_read_cache(
        stack: Stack) -> None:
    redis = Redis.from_url(REDIS_URL)
    async with stack.client() as client:
        await sign_in(stack, client)
        user_id = (await client.get("/api/user/me")).json()["id"]
        rid = (await _create_resume(client))["id"]
        assert (await client.get(f"/api/resume/{rid}")).status_code == 200  # now cached
        generation = int(await redis.get(f"rc:resume:{user_id}") or 0)
        session = client.cookies["rb_session"]

        response = await client.post("/api/auth/logout", headers=SAME_SITE)
        assert response.status_code == 204
        assert "rb_session" not in client.cookies
        async with stack.client() as stale:
            again = await stale.get(f"/api/resume/{rid}",
                                    headers={"Cookie": f"rb_session={session}"})
            assert again.status_code == 401

        for _ in range(100):  # UserSignedOut travels outbox -> RabbitMQ -> resume_service
            if int(await redis.get(f"rc:resume:{user_id}") or 0) > generation:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the read cache was not dropped after logout")
    await redis.aclose()


async def test_cross_site_post_is_refused(stack: Stack) -> None:
    async with stack.client() as client:
        await sign_in(stack, client)
        for headers in ({"Origin": "https://evil.example"}, {},
                        {"Referer": "https://evil.example/page"}, {"Origin": "null"}):
            response = await client.post("/api/resume/create", json={}, headers=headers)
            assert response.status_code == 403, headers
            assert response.json()["error"]["code"] == "cross_site_request"
        referer = await client.post("/api/resume/create", json={},
                                    headers={"Referer": f"{FRONTEND}/editor"})
        assert referer.status_code == 201
        assert (await client.get("/api/resume/all")).status_code == 200  # safe method


async def test_cors_answers_the_frontend_with_credentials_only(stack: Stack) -> None:
    async with stack.client() as client:
        preflight = await client.options("/api/resume/all", headers={
            "Origin": FRONTEND, "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type, if-match"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == FRONTEND
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert "PUT" in preflight.headers["access-control-allow-methods"]
        refused = await client.options("/api/resume/all", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers
        plain = await client.get("/api/resume/all", headers={"Origin": FRONTEND})
        assert plain.headers["access-control-allow-origin"] == FRONTEND


async def test_request_id_is_taken_returned_and_becomes_the_events_correlation_id(
        stack: Stack) -> None:
    async with stack.client() as client:
        await sign_in(stack, client)
        request_id = f"req-{uuid.uuid4()}"
        response = await client.post("/api/resume/create", json={},
                                     headers={**SAME_SITE, "X-Request-ID": request_id})
        assert response.headers["x-request-id"] == request_id
        history = await client.get(f"/api/resume/{response.json()['id']}/history")
        assert history.json()[0]["correlation_id"] == request_id
        generated = await client.get("/api/resume/all")
        assert len(generated.headers["x-request-id"]) == 32
        assert generated.headers.get_list("x-request-id") == [generated.headers["x-request-id"]]


async def test_services_not_running_answer_503_json(stack: Stack) -> None:
    async with stack.client() as client:
        await sign_in(stack, client)
        for path in ("/api/compile/status/x", "/api/ai/rate/x"):
            response = await client.get(path)
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "service_unavailable"


async def test_unknown_and_dotted_paths_are_refused(stack: Stack) -> None:
    async with stack.client() as client:
        await sign_in(stack, client)
        assert (await client.get("/api/nothing/here")).status_code == 404
        dotted = await client.get("/api/resume/%2e%2e/user/me")
        assert dotted.status_code == 400


async def test_body_over_the_limit_is_413(stack: Stack) -> None:
    limit = stack.gateway_settings.max_body_bytes
    async with stack.client() as client:
        await sign_in(stack, client)
        declared = await client.post("/api/resume/create", content=b"x" * (limit + 1),
                                     headers={**SAME_SITE, "Content-Type": "application/json"})
        assert declared.status_code == 413

        async def stream():  # type: ignore[no-untyped-def]
            for _ in range(limit // 65536 + 2):
                yield b" " * 65536

        streamed = await client.post("/api/resume/create", content=stream(),
                                     headers={**SAME_SITE, "Content-Type": "application/json"})
        assert streamed.status_code == 413
        assert streamed.json()["error"]["code"] == "body_too_large"
