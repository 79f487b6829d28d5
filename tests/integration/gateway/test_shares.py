"""Share links and undelete through the gateway: pinned and latest versions, revoke, expiry,
passwords and their rate limit, hidden contact fields, view statistics, ownership, no
session on the public routes; undelete within the window and after it. Time is the
resume_service app's clock, set by the test (`ShareStack.at`), never waited for."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from auth_service.app import create_app as create_auth
from auth_service.settings import AuthSettings
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from resume_service.app import create_app as create_resume
from resume_service.settings import ResumeSettings
from tests.fakes.oidc import FakeIssuer
from tests.integration.gateway.conftest import (
    FRONTEND,
    Stack,
    bound_socket,
    closed_port_url,
    serving,
    sign_in,
    url_of,
)

SAME_SITE = {"Origin": FRONTEND}
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
CONTACT = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 1234",
           "address": {"city": "London"}}


@dataclass
class ShareStack(Stack):
    resume_app: FastAPI | None = None

    def at(self, moment: datetime) -> None:
        assert self.resume_app is not None
        self.resume_app.state.service.clock = lambda: moment

    def now(self) -> None:
        assert self.resume_app is not None
        self.resume_app.state.service.clock = lambda: datetime.now(UTC)


@pytest.fixture(scope="module")
async def shares(service_env: dict[str, str]) -> AsyncIterator[ShareStack]:
    """The gateway stack of tests/integration/gateway/conftest.py, with resume_service's app
    at hand (its clock)."""
    issuer = await FakeIssuer().start()
    socks = {name: bound_socket() for name in ("gateway", "auth", "resume")}
    gateway_url = url_of(socks["gateway"])
    auth = create_auth(AuthSettings(
        **service_env, oidc_server_metadata_url=issuer.metadata_url,
        oidc_client_id=issuer.client_id, oidc_client_secret=issuer.client_secret,
        oidc_redirect_uri=f"{gateway_url}/api/auth/callback", cookie_secure=False,
        dev_login_enabled=True))
    resume = create_resume(ResumeSettings(**service_env, cookie_secure=False))
    settings = GatewaySettings(
        **service_env, auth_service_url=url_of(socks["auth"]),
        resume_service_url=url_of(socks["resume"]), compile_service_url=closed_port_url(),
        ai_service_url=closed_port_url(), allowed_origins=f"{gateway_url},{FRONTEND}",
        cookie_secure=False, rate_limit_per_session=100_000, rate_limit_per_ip=100_000)
    async with contextlib.AsyncExitStack() as running:
        await running.enter_async_context(serving(auth, socks["auth"]))
        await running.enter_async_context(serving(resume, socks["resume"]))
        await running.enter_async_context(serving(create_gateway(settings), socks["gateway"]))
        yield ShareStack(issuer, gateway_url, url_of(socks["auth"]), url_of(socks["resume"]),
                         settings, resume)
    await issuer.stop()


@pytest.fixture(autouse=True)
def real_time(shares: ShareStack) -> None:
    shares.now()


def anonymous(stack: Stack, agent: str = BROWSER) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.gateway_url, timeout=15,
                             headers={"User-Agent": agent})


async def resume_at_version(client: httpx.AsyncClient, versions: int) -> dict[str, Any]:
    created = await client.post("/api/resume/create", headers=SAME_SITE,
                                json={"title": "v1", "contact": CONTACT})
    assert created.status_code == 201, created.text
    resume = created.json()
    for version in range(2, versions + 1):
        updated = await client.put(f"/api/resume/update/{resume['id']}", headers=SAME_SITE,
                                   json={**resume, "title": f"v{version}"})
        assert updated.status_code == 200, updated.text
        resume = updated.json()
    return resume


async def share(client: httpx.AsyncClient, resume_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/resume/{resume_id}/shares", json=body,
                                 headers=SAME_SITE)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def signed_in(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with stack.client() as client:
        await sign_in(stack, client)
        yield client


async def test_a_pinned_share_keeps_its_version_and_a_latest_one_follows(
        shares: ShareStack) -> None:
    async with signed_in(shares) as owner, anonymous(shares) as viewer:
        resume = await resume_at_version(owner, 2)
        pinned = await share(owner, resume["id"], version=2)
        latest = await share(owner, resume["id"])
        assert pinned["url"] == f"/api/public/{pinned['slug']}"
        assert len(pinned["slug"]) >= 24
        before = await viewer.get(latest["url"])
        assert before.json()["title"] == "v2"  # cached now: the updates must drop it
        for version in range(3, 6):
            resume = (await owner.put(f"/api/resume/update/{resume['id']}", headers=SAME_SITE,
                                      json={**resume, "title": f"v{version}"})).json()
        shown = await viewer.get(pinned["url"])
        assert shown.status_code == 200, shown.text
        assert (shown.json()["title"], shown.json()["version"]) == ("v2", 2)
        assert (await viewer.get(latest["url"])).json()["version"] == 5
        assert (await viewer.get(latest["url"])).json()["title"] == "v5"


async def test_public_routes_need_no_session_and_set_no_cookie(shares: ShareStack) -> None:
    async with signed_in(shares) as owner, anonymous(shares) as viewer:
        resume = await resume_at_version(owner, 1)
        link = await share(owner, resume["id"])
        for path in (link["url"], f"{link['url']}/page"):
            response = await viewer.get(path)
            assert response.status_code == 200, (path, response.text)
            assert "set-cookie" not in response.headers
        assert not viewer.cookies


async def test_revoked_share_is_404_at_once(shares: ShareStack) -> None:
    async with signed_in(shares) as owner, anonymous(shares) as viewer:
        resume = await resume_at_version(owner, 1)
        link = await share(owner, resume["id"])
        assert (await viewer.get(link["url"])).status_code == 200  # cached
        revoked = await owner.delete(f"/api/resume/{resume['id']}/shares/{link['id']}",
                                     headers=SAME_SITE)
        assert revoked.status_code == 204
        gone = await viewer.get(link["url"])
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "share_not_found"
        assert (await viewer.get("/api/public/never-made-slug")).status_code == 404
        listed = (await owner.get(f"/api/resume/{resume['id']}/shares")).json()
        assert listed[0]["revoked_at"] is not None


async def test_an_expired_share_is_410(shares: ShareStack) -> None:
    async with signed_in(shares) as owner, anonymous(shares) as viewer:
        resume = await resume_at_version(owner, 1)
        expires = datetime.now(UTC) + timedelta(days=2)
        link = await share(owner, resume["id"], expires_at=expires.isoformat())
        assert (await viewer.get(link["url"])).status_code == 200
        shares.at(expires + timedelta(seconds=1))
        expired = await viewer.get(link["url"])
        assert expired.status_code == 410
        assert expired.json()["error"]["code"] == "share_expired"
        past = await owner.post(f"/api/resume/{resume['id']}/shares", headers=SAME_SITE,
                                json={"expires_at": "2020-01-01T00:00:00Z"})
        assert past.status_code == 422


async def test_a_password_share_is_401_until_given_and_the_11th_wrong_try_is_429(
        shares: ShareStack) -> None:
    async with signed_in(shares) as owner, anonymous(shares) as viewer:
        resume = await resume_at_version(owner, 1)
        link = await share(owner, resume["id"], password="correct horse")
        assert link["protected"] is True
        locked = await viewer.get(link["url"])
        assert locked.status_code == 401
        assert locked.json()["error"]["code"] == "share_password_required"
        right = await viewer.get(link["url"], headers={"X-Share-Password": "correct horse"})
        assert right.status_code == 200, right.text
        for _ in range(10):
            wrong = await viewer.get(link["url"], headers={"X-Share-Password": "guess"})
            assert wrong.status_code == 401
        limited = await viewer.get(link["url"], headers={"X-Share-Password": "guess"})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0


async def test_the_password_form_sets_a_cookie_for_that_share_only(shares: ShareStack) -> None:
    async with signed_in(shares) as owner, anonymous(shares) as viewer:
        resume = await resume_at_version(owner, 1)
        link = await share(owner, resume["id"], password="open sesame")
        form = await viewer.get(f"{link['url']}/page")
        assert form.status_code == 401
        assert f'action="{link["url"]}/unlock"' in form.text
        wrong = await viewer.post(f"{link['url']}/unlock", data={"password": "nope"},
                                  headers=SAME_SITE)
        assert wrong.status_code == 401
        unlocked = await viewer.post(f"{link['url']}/unlock", data={"password": "open sesame"},
                                     headers=SAME_SITE)
        assert unlocked.status_code == 303, unlocked.text
        cookie = unlocked.headers["set-cookie"]
        assert cookie.startswith("rb_share=") and f"Path={link['url']}" in cookie
        assert "HttpOnly" in cookie
        page = await viewer.get(f"{link['url']}/page")
        assert page.status_code == 200
        assert (await viewer.get(link["url"])).status_code == 200
        other = await share(owner, resume["id"], password="open sesame")
        viewer.cookies.set("rb_share", viewer.cookies["rb_share"], path=other["url"])
        assert (await viewer.get(other["url"])).status_code == 401  # signed for the first


async def test_hidden_contact_fields_are_left_out_and_the_page_escapes(
        shares: ShareStack) -> None:
    async with signed_in(shares) as owner, anonymous(shares) as viewer:
        created = await owner.post("/api/resume/create", headers=SAME_SITE, json={
            "title": "<script>alert(1)</script>", "contact": CONTACT})
        resume = created.json()
        link = await share(owner, resume["id"], hidden=["phone", "email", "address"])
        contact = (await viewer.get(link["url"])).json()["contact"]
        assert contact["name"] == "Ada Lovelace"
        assert not {"phone", "email", "address"} & set(contact)
        page = (await viewer.get(f"{link['url']}/page")).text
        assert "<script>alert" not in page and "&lt;script&gt;" in page
        assert 'property="og:title"' in page and f'{link["url"]}/page' in page
        assert "ada@example.com" not in page


async def views_of(owner: httpx.AsyncClient, resume_id: str, share_id: str,
                   expected: int) -> dict[str, Any]:
    """The share's statistics once `expected` views are counted (recording is async)."""
    for _ in range(100):
        listed = (await owner.get(f"/api/resume/{resume_id}/shares")).json()
        stats = next(s for s in listed if s["id"] == share_id)["stats"]
        if stats["views"] + stats["bots"] >= expected:
            await asyncio.sleep(0.2)  # and no more arrive
            listed = (await owner.get(f"/api/resume/{resume_id}/shares")).json()
            return next(s for s in listed if s["id"] == share_id)["stats"]  # type: ignore
        await asyncio.sleep(0.05)
    raise AssertionError("the views were not counted")


async def test_views_count_once_per_viewer_and_hour_and_bots_apart(
        shares: ShareStack) -> None:
    async with (signed_in(shares) as owner, anonymous(shares) as first,
                anonymous(shares, "Mozilla/5.0 (Macintosh) Safari/18") as second,
                anonymous(shares, "Slackbot-LinkExpanding 1.0") as bot):
        resume = await resume_at_version(owner, 3)
        link = await share(owner, resume["id"], version=2)
        for client in (first, first, second, bot):
            assert (await client.get(link["url"])).status_code == 200
        stats = await views_of(owner, resume["id"], link["id"], 3)
        assert (stats["views"], stats["unique_viewers"], stats["bots"]) == (2, 2, 1)
        assert stats["by_version"] == [{"version": 2, "views": 2}]
        assert stats["by_day"][0]["views"] == 2
        shares.at(datetime.now(UTC) + timedelta(hours=1))
        await first.get(f"{link['url']}/page")  # a new hour: counted again
        stats = await views_of(owner, resume["id"], link["id"], 4)
        assert stats["views"] == 3


async def test_another_user_cannot_list_make_or_revoke_your_shares(shares: ShareStack) -> None:
    async with signed_in(shares) as owner, signed_in(shares) as other:
        resume = await resume_at_version(owner, 1)
        link = await share(owner, resume["id"])
        base = f"/api/resume/{resume['id']}/shares"
        assert (await other.get(base)).status_code == 404
        assert (await other.post(base, json={}, headers=SAME_SITE)).status_code == 404
        revoke = await other.delete(f"{base}/{link['id']}", headers=SAME_SITE)
        assert revoke.status_code == 404
        mine = await resume_at_version(other, 1)  # their own resume, my share's id
        crossed = await other.delete(f"/api/resume/{mine['id']}/shares/{link['id']}",
                                     headers=SAME_SITE)
        assert crossed.status_code == 404
        assert (await owner.get(base)).json()[0]["revoked_at"] is None


async def test_undelete_within_30_days_restores_the_resume_its_history_and_its_shares(
        shares: ShareStack) -> None:
    async with signed_in(shares) as owner, anonymous(shares) as viewer:
        resume = await resume_at_version(owner, 2)
        link = await share(owner, resume["id"])
        revoked = await share(owner, resume["id"])
        await owner.delete(f"/api/resume/{resume['id']}/shares/{revoked['id']}",
                           headers=SAME_SITE)
        deleted = await owner.delete(f"/api/resume/delete/{resume['id']}", headers=SAME_SITE)
        assert deleted.status_code == 204
        assert (await viewer.get(link["url"])).status_code == 404
        trash = (await owner.get("/api/resume/trash")).json()
        assert [t["id"] for t in trash] == [resume["id"]]
        shares.at(datetime.now(UTC) + timedelta(days=29))
        restored = await owner.post(f"/api/resume/{resume['id']}/undelete", headers=SAME_SITE)
        assert restored.status_code == 200, restored.text
        assert (restored.json()["title"], restored.json()["version"]) == ("v2", 4)
        history = (await owner.get(f"/api/resume/{resume['id']}/history")).json()
        assert [h["event_type"] for h in history] == [
            "ResumeCreated", "ResumeUpdated", "ResumeDeleted", "ResumeUndeleted"]
        assert (await owner.get(f"/api/resume/{resume['id']}")).status_code == 200
        assert (await viewer.get(link["url"])).json()["title"] == "v2"
        assert (await viewer.get(revoked["url"])).status_code == 404
        assert (await owner.get("/api/resume/trash")).json() == []
        again = await owner.post(f"/api/resume/{resume['id']}/undelete", headers=SAME_SITE)
        assert again.status_code == 409


async def test_after_30_days_a_deleted_resume_stays_deleted(shares: ShareStack) -> None:
    async with signed_in(shares) as owner, signed_in(shares) as other:
        resume = await resume_at_version(owner, 1)
        await owner.delete(f"/api/resume/delete/{resume['id']}", headers=SAME_SITE)
        path = f"/api/resume/{resume['id']}/undelete"
        assert (await other.post(path, headers=SAME_SITE)).status_code == 404
        shares.at(datetime.now(UTC) + timedelta(days=30, seconds=1))
        assert (await owner.get("/api/resume/trash")).json() == []
        late = await owner.post(path, headers=SAME_SITE)
        assert late.status_code == 404
        assert (await owner.get(f"/api/resume/{resume['id']}")).status_code == 404
        unknown = await owner.post(f"/api/resume/{uuid.uuid4()}/undelete", headers=SAME_SITE)
        assert unknown.status_code == 404


async def test_revoking_while_views_are_recorded_is_not_a_conflict(shares: ShareStack) -> None:
    async with signed_in(shares) as owner, anonymous(shares) as viewer:
        resume = await resume_at_version(owner, 1)
        link = await share(owner, resume["id"])

        async def view(n: int) -> int:
            response = await viewer.get(link["url"], headers={"User-Agent": f"{BROWSER} {n}"})
            return response.status_code

        revoke = owner.delete(f"/api/resume/{resume['id']}/shares/{link['id']}",
                              headers=SAME_SITE)
        *views, revoked = await asyncio.gather(*(view(n) for n in range(40)), revoke)
        assert revoked.status_code == 204, revoked.text
        assert set(views) <= {200, 404}
        assert (await viewer.get(link["url"])).status_code == 404
