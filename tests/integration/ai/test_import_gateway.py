"""The import's upload through the gateway, on real loopback HTTP: ai_service (its worker
in-process, the fake Gemini behind it) and the gateway as uvicorn servers, a session made in
Redis as auth_service makes one. The upload path takes MAX_UPLOAD_BYTES, every other path
still MAX_BODY_BYTES."""

import asyncio
import contextlib
import io
import os
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from ai_service.app import create_app as create_ai
from ai_service.settings import AiSettings
from contracts.topology import AI_RESUMES_CONSUMER
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from runtime.sessions import SessionStore, session_cookie_name
from tests.conftest import REDIS_URL, wait_for_queue
from tests.integration.ai.resume_files import docx_of
from tests.integration.gateway.conftest import (
    FRONTEND,
    bound_socket,
    closed_port_url,
    serving,
    url_of,
)
from tests.samples import engineer

SAME_SITE = {"Origin": FRONTEND}


@dataclass
class Edge:
    url: str
    settings: GatewaySettings

    async def client(self, user_id: str) -> httpx.AsyncClient:
        redis = Redis.from_url(REDIS_URL)
        try:
            session = await SessionStore(redis).create(user_id)
        finally:
            await redis.aclose()
        return httpx.AsyncClient(base_url=self.url, timeout=30, headers=SAME_SITE,
                                 cookies={session_cookie_name(False): session})


@pytest.fixture(scope="module")
async def edge(ai_env: dict[str, Any], service_env: dict[str, str]) -> AsyncIterator[Edge]:
    socks = {name: bound_socket() for name in ("gateway", "ai")}
    settings = GatewaySettings(
        **service_env, auth_service_url=closed_port_url(), resume_service_url=closed_port_url(),
        compile_service_url=closed_port_url(), ai_service_url=url_of(socks["ai"]),
        allowed_origins=f"{url_of(socks['gateway'])},{FRONTEND}", cookie_secure=False,
        rate_limit_per_session=100_000, rate_limit_per_ip=100_000)
    async with contextlib.AsyncExitStack() as running:
        await running.enter_async_context(serving(create_ai(AiSettings.model_validate(ai_env)),
                                                  socks["ai"]))
        await wait_for_queue(AI_RESUMES_CONSUMER)
        await running.enter_async_context(serving(create_gateway(settings), socks["gateway"]))
        yield Edge(url_of(socks["gateway"]), settings)


def with_picture(docx: bytes, size: int) -> bytes:
    """The DOCX with a `size`-byte picture-like part in it (random bytes, stored)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            target.writestr(entry, source.read(entry))
        target.writestr("word/media/image1.bin", os.urandom(size))
    return out.getvalue()


async def test_a_file_over_the_common_body_limit_goes_through_to_the_import(
    edge: Edge, user_id: str,
) -> None:
    big = with_picture(docx_of(engineer()), edge.settings.max_body_bytes)
    assert len(big) > edge.settings.max_body_bytes
    async with await edge.client(user_id) as client:
        response = await client.post("/api/ai/import", files={"file": ("cv.docx", big)})
        assert response.status_code == 202, response.text
        assert response.headers["location"].startswith("/api/ai/imports/")
        job = await client.get(response.headers["location"], params={"wait": 15})
        assert job.status_code == 200 and job.json()["status"] == "succeeded", job.text


async def test_a_file_over_the_upload_limit_is_413_at_the_gateway(
    edge: Edge, user_id: str,
) -> None:
    limit = edge.settings.max_upload_bytes
    async with await edge.client(user_id) as client:
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    # the head alone: the gateway answers on the declared length, before any of the body
    host, port = edge.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"POST /api/ai/import HTTP/1.1\r\nHost: {host}\r\nOrigin: {FRONTEND}\r\n"
                     f"Cookie: {cookie}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                     f"Content-Length: {limit + 1}\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 413"), head
    async with await edge.client(user_id) as client:
        other = await client.post(f"/api/ai/rate/{uuid.uuid4()}",
                                  content=b"{}" + b" " * edge.settings.max_body_bytes,
                                  headers={"Content-Type": "application/json"})
        assert other.status_code == 413
