"""A fake Gemini API: a real HTTP server on 127.0.0.1 that the real google-genai client talks
to (HttpOptions(base_url=fake.url)). It answers `POST /{version}/models/{model}:generateContent`
with the shape the SDK parses: ``{"candidates":[{"content":{"parts":[{"text":"..."}]}}]}``.

Replies are scripted per token: `script(token, ...)` queues replies for the requests whose
body contains `token` (put it in the resume's title, or the imported file's text), so tests
sharing the server never take each other's replies. A request with no script left gets
`default` (a good rating), unless it is an import (its response schema asks for a resume's
`contact`): that one is answered with the resume read from the text it was sent
(tests.fakes.resume_reader), as the model would. `Reply.malformed()` is an answer that is
not JSON at all. The server runs its own event loop in a thread, so it answers whatever the
caller's loop does.
"""

import asyncio
import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.resume_reader import read_resume

GOOD_RATING: dict[str, Any] = {
    "overall_score": 78,
    "sections": [{"section": "Experience", "score": 80, "comment": "Clear roles, few numbers."},
                 {"section": "Skills", "score": 70, "comment": "Relevant but generic."}],
    "strengths": ["Concise", "Relevant experience"],
    "weaknesses": ["Few quantified results"],
    "suggestions": [{"section": "Experience", "item": "Engineer",
                     "suggestion": "Quantify the result of the first bullet."}],
}


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0

    @staticmethod
    def text(text: str, delay: float = 0.0) -> "Reply":
        """A 200 whose model output is `text` (valid JSON or not)."""
        body = {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                "finishReason": "STOP"}]}
        return Reply(200, json.dumps(body).encode(), delay)

    @staticmethod
    def malformed(delay: float = 0.0) -> "Reply":
        return Reply.text('{"contact": {"name": "Ada"}, "sections": [{"title": ', delay)

    @staticmethod
    def good(rating: dict[str, Any] | None = None, delay: float = 0.0) -> "Reply":
        return Reply.text(json.dumps(rating or GOOD_RATING), delay)

    @staticmethod
    def error(status: int, message: str = "fake error") -> "Reply":
        names = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
                 400: "INVALID_ARGUMENT"}
        body = {"error": {"code": status, "message": message,
                          "status": names.get(status, "UNKNOWN")}}
        return Reply(status, json.dumps(body).encode())


@dataclass
class Seen:
    path: str
    api_key: str | None
    body: dict[str, Any]


@dataclass
class FakeGemini:
    default: Reply = field(default_factory=Reply.good)
    requests: list[Seen] = field(default_factory=list)
    _scripts: dict[str, deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    port: int = 0
    host: str = "127.0.0.1"  # another address for a stack in containers (tests/compose)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def script(self, token: str, *replies: Reply) -> None:
        with self._lock:
            self._scripts[token].extend(replies)

    def calls(self, token: str) -> int:
        with self._lock:
            return sum(token in json.dumps(seen.body) for seen in self.requests)

    def start(self) -> "FakeGemini":
        started = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True,
                                        name="fake-gemini")
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the fake Gemini server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._runner is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _serve(self, started: threading.Event) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start_site())
        started.set()
        self._loop.run_forever()
        self._loop.close()

    async def _start_site(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _handle(self, request: web.Request) -> web.Response:
        if not request.path.endswith(":generateContent"):
            return web.Response(status=404, text="not a generateContent call")
        body = await request.json()
        reply = self._next_reply(request.path, request.headers.get("x-goog-api-key"), body)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return web.Response(status=reply.status, body=reply.body,
                            content_type="application/json")

    def _next_reply(self, path: str, api_key: str | None, body: dict[str, Any]) -> Reply:
        text = json.dumps(body)
        with self._lock:
            self.requests.append(Seen(path, api_key, body))
            for token, queue in self._scripts.items():
                if token in text and queue:
                    return queue.popleft()
        if is_import(body):
            return Reply.text(json.dumps(read_resume(user_text(body))))
        return self.default


def is_import(body: dict[str, Any]) -> bool:
    schema = body.get("generationConfig", {}).get("responseSchema", {})
    return "contact" in schema.get("properties", {})


def user_text(body: dict[str, Any]) -> str:
    return "".join(part.get("text", "") for content in body.get("contents", [])
                   for part in content.get("parts", []))
