"""Which access and consumer lines are written (runtime.logs.TracePolicy, ACCESS_LOG): every
problem always, a successful request's lines with `all`, or with `sampled` when its request
id is sampled, the same id getting the same answer in every process."""

import logging
import uuid
from collections.abc import Iterator

import pytest
from starlette.types import Receive, Scope, Send

from gateway.settings import GatewaySettings
from resume_service.settings import ResumeSettings
from runtime.context import request_id_var
from runtime.logs import ContextFilter, PerMessageFilter, TracePolicy, sampled
from runtime.metrics import ObservabilityMiddleware
from runtime.settings import ServiceSettings

IDS = [uuid.uuid4().hex for _ in range(2000)]


def test_all_keeps_every_line_and_off_none() -> None:
    assert all(TracePolicy("all").keeps(i, problem=False) for i in IDS[:50])
    assert not any(TracePolicy("off").keeps(i, problem=True) for i in IDS[:50])


def test_problems_keeps_only_failed_or_slow_ones() -> None:
    policy = TracePolicy("problems")
    assert all(policy.keeps(i, problem=True) for i in IDS[:50])
    assert not any(policy.keeps(i, problem=False) for i in IDS[:50])


def test_sampled_keeps_problems_and_about_one_request_id_in_n() -> None:
    policy = TracePolicy("sampled", sample_every=20)
    kept = [i for i in IDS if policy.keeps(i, problem=False)]
    assert 50 <= len(kept) <= 150  # 2000 / 20 = 100
    assert all(policy.keeps(i, problem=True) for i in IDS[:50])
    assert not policy.keeps(None, problem=False)
    # a stable hash: what another process (the consumer of the request's event) decides too
    assert all(sampled(i, 20) for i in kept)


def consumer_record(outcome: str, duration_ms: float = 3.0,
                    level: int = logging.INFO, name: str = "runtime.bus") -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, "consumer line", None, None)
    record.data = {"outcome": outcome, "duration_ms": duration_ms}
    return record


def test_the_consumer_line_of_a_handled_message_follows_the_policy() -> None:
    policy = TracePolicy("sampled", sample_every=20, slow_seconds=1.0)
    handler = logging.Handler()
    handler.addFilter(ContextFilter())
    handler.addFilter(PerMessageFilter(policy))
    unsampled = next(i for i in IDS if not sampled(i, 20))
    chosen = next(i for i in IDS if sampled(i, 20))

    def written(record: logging.LogRecord, request_id: str) -> bool:
        token = request_id_var.set(request_id)
        try:
            return bool(handler.filter(record))
        finally:
            request_id_var.reset(token)

    assert not written(consumer_record("handled"), unsampled)
    assert written(consumer_record("handled"), chosen)
    assert written(consumer_record("failed"), unsampled)
    assert written(consumer_record("handled", duration_ms=1500.0), unsampled)
    assert written(consumer_record("handled", level=logging.WARNING), unsampled)
    assert written(consumer_record("handled", name="runtime.jobs"), unsampled)


@pytest.mark.parametrize(("value", "mode"), [
    ("true", "all"), ("false", "off"), ("sampled", "sampled"), ("problems", "problems")])
def test_access_log_takes_its_modes_and_the_booleans_it_used_to(
        monkeypatch: pytest.MonkeyPatch, value: str, mode: str) -> None:
    monkeypatch.setenv("ACCESS_LOG", value)
    assert ServiceSettings(_env_file=None).access_log == mode  # type: ignore[call-arg]


def test_the_default_is_sampled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCESS_LOG", raising=False)
    settings = ServiceSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.trace_policy() == TracePolicy("sampled", 20, 1.0)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statuses.append(record.data["status"])  # type: ignore[attr-defined]
        self.messages.append(record.getMessage())


async def answer(scope: Scope, receive: Receive, send: Send) -> None:
    status = int(scope["path"].rsplit("/", 1)[1])
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def serve(app: ObservabilityMiddleware, status: int, request_id: str) -> None:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(_: object) -> None:
        pass

    scope = {"type": "http", "method": "GET", "path": f"/answer/{status}",
             "headers": [(b"x-request-id", request_id.encode())]}
    await app(scope, receive, send)  # type: ignore[arg-type]


@pytest.fixture
def access_lines() -> Iterator[Lines]:
    lines, logger = Lines(), logging.getLogger("runtime.access")
    logger.addHandler(lines)
    was_disabled, level = logger.disabled, logger.level
    logger.disabled = False
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(lines)
    logger.disabled, logger.level = was_disabled, level


async def test_a_service_writes_the_access_line_of_failed_and_sampled_requests(
        access_lines: Lines) -> None:
    app = ObservabilityMiddleware(answer, "trace_test", metrics=False,
                                  trace=TracePolicy("sampled", sample_every=20))
    unsampled = [i for i in IDS if not sampled(i, 20)][:3]
    chosen = next(i for i in IDS if sampled(i, 20))
    for request_id in unsampled:
        await serve(app, 200, request_id)
    await serve(app, 404, unsampled[0])
    await serve(app, 500, unsampled[1])
    await serve(app, 200, chosen)
    assert access_lines.statuses == [404, 500, 200]


async def test_with_all_every_request_has_its_line_but_a_proxy_logs_only_failures(
        access_lines: Lines) -> None:
    service = ObservabilityMiddleware(answer, "trace_test", metrics=False,
                                      trace=TracePolicy("all"))
    proxy = ObservabilityMiddleware(answer, "trace_test", metrics=False,
                                    trace=TracePolicy("all"), log_only_problems=True)
    for app in (service, proxy):
        await serve(app, 200, IDS[0])
        await serve(app, 502, IDS[1])
    assert access_lines.statuses == [200, 502, 502]


async def test_a_hidden_prefix_keeps_the_secret_rest_of_a_path_out_of_the_access_line(
        access_lines: Lines) -> None:
    app = ObservabilityMiddleware(answer, "trace_test", metrics=False,
                                  trace=TracePolicy("all", hidden_prefixes=("/answer/",)))
    await serve(app, 410, IDS[0])
    shown = ObservabilityMiddleware(answer, "trace_test", metrics=False,
                                    trace=TracePolicy("all"))
    await serve(shown, 404, IDS[1])
    assert access_lines.messages == ["GET /answer/… 410", "GET /answer/404 404"]


def test_the_share_links_are_hidden_by_resume_service_and_the_gateway() -> None:
    slug = "Zx3kq9Vt-secret"
    assert ResumeSettings().trace_policy().shown_path(f"/public/{slug}/page") == "/public/…"
    assert GatewaySettings().trace_policy().shown_path(f"/api/public/{slug}") == "/api/public/…"
