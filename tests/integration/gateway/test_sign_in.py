"""Signing in through the gateway against a real local OIDC issuer, and every way a sign-in
must be refused."""

import httpx

from tests.fakes.oidc import Misbehaviour
from tests.integration.gateway.conftest import Stack, authorize, query_of, sign_in, start_sign_in


async def test_sign_in_sets_a_hardened_session_cookie_and_lands_on_next(stack: Stack) -> None:
    stack.issuer.sign_in_as("alice-sub", email="alice@example.com", name="Alice",
                            picture="https://example.com/a.png")
    async with stack.client() as client:
        to_issuer = await start_sign_in(client, next_path="/resumes?tab=mine")
        params = query_of(to_issuer)
        assert to_issuer.startswith(stack.issuer.url)
        assert params["code_challenge_method"] == "S256" and params["code_challenge"]
        assert params["nonce"] and params["state"]
        assert params["redirect_uri"] == f"{stack.gateway_url}/api/auth/callback"

        response = await client.get(await authorize(client, to_issuer))
        assert response.status_code == 303
        assert response.headers["location"] == "/resumes?tab=mine"
        cookie = next(c for c in response.headers.get_list("set-cookie")
                      if c.startswith("rb_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert len(client.cookies["rb_session"]) >= 43  # 256 random bits, base64url

        me = await client.get("/api/user/me")
        assert me.status_code == 200
        assert me.json()["email"] == "alice@example.com"
        assert me.json()["name"] == "Alice"


async def _refused_callback(stack: Stack, misbehave: Misbehaviour) -> httpx.Response:
    stack.issuer.sign_in_as("mallory-sub", email="m@example.com")
    async with stack.client() as client:
        to_issuer = await start_sign_in(client)
        stack.issuer.misbehave = misbehave
        response = await client.get(await authorize(client, to_issuer))
        assert "rb_session" not in client.cookies
        return response


async def test_id_token_for_another_audience_is_refused(stack: Stack) -> None:
    response = await _refused_callback(stack, Misbehaviour(audience="another-client"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "sign_in_refused"


async def test_id_token_with_a_bad_signature_is_refused(stack: Stack) -> None:
    response = await _refused_callback(stack, Misbehaviour(wrong_key=True))
    assert response.status_code == 400
    assert response.json()["error"]["reason"] == "BadSignatureError"


async def test_id_token_with_another_nonce_is_refused(stack: Stack) -> None:
    response = await _refused_callback(stack, Misbehaviour(nonce="not-the-one-we-sent"))
    assert response.status_code == 400


async def test_expired_id_token_is_refused(stack: Stack) -> None:
    response = await _refused_callback(stack, Misbehaviour(expires_in=-600))
    assert response.status_code == 400


async def test_wrong_state_is_refused(stack: Stack) -> None:
    async with stack.client() as client:
        callback = await authorize(client, await start_sign_in(client))
        forged = callback.replace(f"state={query_of(callback)['state']}", "state=forged")
        response = await client.get(forged)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "sign_in_state_mismatch"
        assert "rb_session" not in client.cookies


async def test_callback_from_another_browser_is_refused(stack: Stack) -> None:
    async with stack.client() as victim, stack.client() as attacker:
        callback = await authorize(attacker, await start_sign_in(attacker))
        response = await victim.get(callback)  # no login-flow cookie of this flow
        assert response.status_code == 400
        assert "rb_session" not in victim.cookies


async def test_replayed_code_is_refused(stack: Stack) -> None:
    async with stack.client() as client:
        callback = await authorize(client, await start_sign_in(client))
        assert (await client.get(callback)).status_code == 303
        client.cookies.delete("rb_session")
        assert (await client.get(callback)).status_code == 400  # same state: already used

        # the old code inside a fresh flow: the issuer refuses it (single use, PKCE)
        fresh = await authorize(client, await start_sign_in(client))
        replay = fresh.replace(f"code={query_of(fresh)['code']}",
                               f"code={query_of(callback)['code']}")
        response = await client.get(replay)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "sign_in_refused"
        assert "rb_session" not in client.cookies


async def test_outside_next_is_refused(stack: Stack) -> None:
    async with stack.client() as client:
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example",
                       "javascript:alert(1)", "evil.example", "/ok\r\nSet-Cookie: x=1"):
            response = await client.get("/api/auth/login", params={"next": target})
            assert response.status_code == 400, target
            assert response.json()["error"]["code"] == "bad_next"


async def test_signing_in_again_replaces_the_old_session(stack: Stack) -> None:
    async with stack.client() as client:
        await sign_in(stack, client)
        old = client.cookies["rb_session"]
        callback = await authorize(client, await start_sign_in(client))
        assert (await client.get(callback)).status_code == 303
        assert client.cookies["rb_session"] != old
        async with stack.client() as other:
            response = await other.get("/api/user/me", headers={"Cookie": f"rb_session={old}"})
            assert response.status_code == 401
