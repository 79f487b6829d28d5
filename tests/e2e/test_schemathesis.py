"""Schemathesis over the whole public API, through the gateway of the real stack (every
Procfile process, see conftest.py), driven by its engine (what `schemathesis run` runs, its
examples, coverage and fuzzing phases): the merged `/api/openapi.json` (gateway/openapi.py), a
signed-in session cookie and the frontend's Origin on every request, every operation but the
sign-in routes, and the checks of CHECKS on every answer. Every failure is collected and
listed by operation in the test's failure message; the counts of cases and failures are
printed on the terminal whatever pytest captures.

Run it alone with ``pytest tests/e2e/test_schemathesis.py`` (or ``-m fuzz``, or leave it out
with ``-m "not fuzz"``). A fixed seed with derandomized generation, no Hypothesis example
database and no Schemathesis cache: nothing from an earlier run steers the next one, so the
same code gets the same inputs (the ids the stack hands out differ from run to run, and
Schemathesis reuses them, so counts may move by a few cases).
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from schemathesis import engine
from schemathesis.engine import events
from schemathesis.engine.statistic import Statistic

from tests.e2e.conftest import Stack, off_loop, sign_in
from tests.integration.gateway.conftest import FRONTEND

# the fuzzing takes about a minute; on a busy machine it may take three
pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(360)]

SEED = 20261201
MAX_EXAMPLES = 50  # per operation and generation phase: about a minute on two shared cores
# Each of these signs in (or out): fuzzing them would fight the session the run uses.
# login and callback are the OIDC redirects (tests/integration/gateway/test_sign_in.py,
# test_stack.py);
# dev-login is off on this stack (and not in its document) but would mint sessions;
# logout ends the run's session: it gets a run of its own, with a new session per case.
SIGN_IN_PATHS = ["/api/auth/login", "/api/auth/callback", "/api/auth/dev-login"]
LOGOUT_PATH = "/api/auth/logout"
# the event stream's 200 never ends (each case would wait out the request timeout): its
# answers are held to the document by tests/integration/test_response_contracts.py (its
# first frames) and tests/e2e/test_live.py
STREAM_PATHS = ["/api/events"]
# What each answer must satisfy: no 5xx but a documented 503, a documented status, the
# documented content type, body and headers; and a method the path does not declare gets
# 405 with an Allow header (the coverage phase sends them).
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance",
          "unsupported_method", "allow_header_conformance"]
# Left out: positive_data_acceptance and negative_data_rejection judge how tight the request
# schemas are (a template name the schema types only as a string; a read-only field of the
# resume the services ignore), not whether an answer keeps the contract; ignored_auth and
# missing_required_header found nothing here but need the gateway's 401 only, which
# test_stack.py covers; use_after_free and ensure_resource_availability need the stateful
# phase, which infers few links from this document (~2 % more cases, nothing found).


def config(session_cookie: str | None) -> schemathesis.Config:
    checks: dict[str, Any] = {name: {"enabled": name in CHECKS} for name in (
        *CHECKS, "positive_data_acceptance", "negative_data_rejection", "use_after_free",
        "ensure_resource_availability", "missing_required_header", "ignored_auth",
        "unsupported_method", "allow_header_conformance")}
    # the documented 503s (ai_service without Gemini, a down identity provider or session
    # store) are answers, not crashes
    checks["not_a_server_error"]["expected-statuses"] = ["2xx", "3xx", "4xx", "503"]
    auth = {"openapi": {"session": {"api_key": session_cookie}}} if session_cookie else {}
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "workers": 1,
        "continue-on-failure": True,  # every failure of an operation, not only its first
        "request-timeout": 30,
        "cache": {"enabled": False},  # no state of earlier runs (.schemathesis/)
        "headers": {"Origin": FRONTEND},
        **({"auth": auth} if auth else {}),
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none",
                       "no-shrink": True},
        "checks": {"enabled": False, **checks},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
    })


@dataclass
class Outcome:
    runs: list[str] = field(default_factory=list)  # one line per engine run
    cases: int = 0
    seconds: float = 0.0
    failures: dict[str, list[str]] = field(default_factory=dict)  # operation -> findings
    errors: list[str] = field(default_factory=list)

    @property
    def failure_count(self) -> int:
        return sum(len(found) for found in self.failures.values())

    def add(self, name: str, other: "Outcome") -> None:
        self.runs.append(f"{name}: {other.cases} cases in {other.seconds:.0f} s, "
                         f"{other.failure_count} failures, {len(other.errors)} errors")
        self.cases += other.cases
        self.seconds += other.seconds
        for label, found in other.failures.items():
            self.failures.setdefault(label, []).extend(found)
        self.errors += other.errors

    def headline(self) -> str:
        return "\n".join([
            f"schemathesis {schemathesis.__version__}: {self.cases} cases in "
            f"{self.seconds:.0f} s, {self.failure_count} failures, {len(self.errors)} errors "
            f"(seed {SEED}, at most {MAX_EXAMPLES} examples per operation and phase)",
            *(f"  {line}" for line in self.runs)])

    def report(self) -> str:
        lines = [self.headline()]
        for label, found in sorted(self.failures.items()):
            lines.append(f"== {label}")
            lines += [f"  - {finding}" for finding in found]
        lines += [f"!! {error}" for error in self.errors]
        return "\n".join(lines)


def run(schema: Any) -> Outcome:
    """One engine run; every unique failure with the request that caused it."""
    outcome, statistic = Outcome(), Statistic()
    started = time.monotonic()
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            statistic.on_scenario_finished(event.recorder)
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            outcome.errors.append(f"fatal: {event.exception!r}")
    outcome.seconds = time.monotonic() - started
    outcome.cases = statistic.total_cases
    for label, groups in statistic.failures.items():
        for group in groups.values():
            response = group.response
            answer = (f"{response.status_code} {response.text[:300]!r}" if response is not None
                      else "no response")
            for failure in group.failures:
                outcome.failures.setdefault(label, []).append(
                    f"[{failure.title}] {failure.message.strip()[:400]}\n"
                    f"      answer: {answer}\n      request: {_cut(group.code_sample, 800)}")
    return outcome


def _cut(text: str | None, limit: int) -> str:
    return text if text is None or len(text) <= limit else text[:limit] + " [...]"


def session_cookie(stack: Stack) -> str:
    async def signed_in() -> str:
        async with stack.client() as browser:
            await sign_in(stack, browser)
            return browser.cookies["rb_session"]
    return off_loop(signed_in())


@pytest.fixture
def summary(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str],
            record_property: Any) -> Iterator[Outcome]:
    """The outcome's counts, printed on the terminal past pytest's capture (with or without
    -s, passed or failed) and kept as properties of the test (junitxml); a failure's message
    lists every failure."""
    outcome = Outcome()
    yield outcome
    record_property("schemathesis_cases", outcome.cases)
    record_property("schemathesis_failures", outcome.failure_count)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    with capsys.disabled():
        if reporter is not None:
            reporter.write("\n" + outcome.headline() + "\n")
        else:
            print(outcome.headline())


def test_every_public_operation_answers_as_documented(stack: Stack, summary: Outcome) -> None:
    url = f"{stack.gateway_url}/api/openapi.json"
    schema = schemathesis.openapi.from_url(url, config=config(session_cookie(stack)))
    assert not schema.raw_schema["x-unavailable-services"]
    summary.add("every operation but sign-in, logout and the event stream",
                run(schema.exclude(path=[*SIGN_IN_PATHS, LOGOUT_PATH, *STREAM_PATHS])))

    # logout: a new session for each case, so that each signs a live session out; it takes
    # the place of the rb_session cookie the operation declares (a made-up value is no
    # session: the gateway's 401, before logout is reached)
    logout = schemathesis.openapi.from_url(url, config=config(None))
    signed_in: list[str] = []

    @logout.auth(refresh_interval=None)
    class FreshSession:
        def get(self, case: Any, context: Any) -> str:
            signed_in.append(session_cookie(stack))
            return signed_in[-1]

        def set(self, case: Any, data: str, context: Any) -> None:
            case.cookies = {**(case.cookies or {}), "rb_session": data}

    logged_out = run(logout.include(path=LOGOUT_PATH))
    summary.add(f"logout ({len(signed_in)} sessions)", logged_out)
    assert signed_in and logged_out.cases > 0
    assert summary.cases > 0
    assert not summary.failures and not summary.errors, summary.report()
