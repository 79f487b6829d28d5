"""The Gemini client wrapper: one answer = one value parsed and validated from the model's
JSON (a `Rating`, an imported resume), or a ModelError that says why not. Ratings and
imports share this loop; each gives its own contents, config and parser.

- Each call is bounded by GEMINI_TIMEOUT_SECONDS; a time-out is not retried (the model may
  well have done, and billed, the work), the job fails with the reason.
- 429 and 5xx answers and dropped connections are retried with exponential backoff and
  jitter (or the delay the API asks for, capped), up to GEMINI_MAX_ATTEMPTS calls. The SDK's
  own retries are switched off so that this is the only retry loop.
- The answer must be JSON matching the response schema (asked for with the config's response
  schema, and validated here by the parser); an answer that fails validation is asked for
  once more, then the job fails (`invalid_output`).
"""

import asyncio
import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import aiohttp
from google import genai
from google.genai import errors, types
from pydantic import ValidationError

from ai_service.prompt import generation_config, user_message
from ai_service.settings import AiSettings
from contracts.ai_events import ModelFailureCode, Rating

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
VALIDATION_ATTEMPTS = 2  # the first answer, and one more when it does not validate
T = TypeVar("T")


class ModelError(Exception):
    def __init__(self, code: ModelFailureCode, reason: str, model_calls: int) -> None:
        super().__init__(reason)
        self.code, self.reason, self.model_calls = code, reason, model_calls


class InvalidAnswer(ValueError):
    """A parser's refusal of an answer that is JSON of the schema but unusable."""


@dataclass(frozen=True)
class Answer(Generic[T]):
    value: T
    model_calls: int


@dataclass(frozen=True)
class Question(Generic[T]):
    """What one kind of job asks: the user turn, the config (system instruction, response
    schema), how to read the answer, and the schema's name for the error message."""

    contents: str
    config: types.GenerateContentConfig
    parse: Callable[[str], T]  # raises ValidationError or InvalidAnswer
    schema_name: str


def make_client(settings: AiSettings) -> genai.Client | None:
    """The SDK client, or None when no API key is configured."""
    if not settings.gemini_api_key:
        return None
    options = types.HttpOptions(
        base_url=settings.gemini_base_url or None,
        timeout=int(settings.gemini_timeout_seconds * 1000),
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    return genai.Client(api_key=settings.gemini_api_key, http_options=options)


class Gemini:
    def __init__(self, client: genai.Client, settings: AiSettings) -> None:
        self.client, self.model = client, settings.gemini_model
        self.timeout = settings.gemini_timeout_seconds
        self.max_attempts = settings.gemini_max_attempts
        self.backoff, self.backoff_max = (settings.gemini_backoff_seconds,
                                          settings.gemini_backoff_max_seconds)

    async def rate(self, model_input: dict[str, Any]) -> Answer[Rating]:
        return await self.ask(Question(user_message(model_input), generation_config(),
                                       Rating.model_validate_json, "the rating schema"))

    async def ask(self, question: Question[T]) -> Answer[T]:
        calls, problem = 0, ""
        for _ in range(VALIDATION_ATTEMPTS):
            text, used = await self._generate(question, calls)
            calls += used
            try:
                return Answer(question.parse(text), calls)
            except ValidationError as exc:
                problem = _describe(exc)
            except InvalidAnswer as exc:
                problem = str(exc)[:500]
            log.warning("model output failed validation: %s", problem)
        raise ModelError("invalid_output", f"the model's answer did not match "
                         f"{question.schema_name} twice: {problem}", calls)

    async def _generate(self, question: Question[Any], calls_before: int) -> tuple[str, int]:
        """The text of one answer, and how many calls it took."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = await asyncio.wait_for(self.client.aio.models.generate_content(
                    model=self.model, contents=question.contents,
                    config=question.config), self.timeout)
                return response.text or "", attempt
            except TimeoutError:
                raise ModelError("timeout", f"the model did not answer within {self.timeout:g} s",
                                  calls_before + attempt) from None
            except errors.APIError as exc:
                final = exc.code not in RETRYABLE_STATUS or attempt == self.max_attempts
                if final:
                    raise _api_failure(exc, calls_before + attempt) from exc
                delay = self._delay(attempt, exc)
            except aiohttp.ClientConnectionError as exc:
                if attempt == self.max_attempts:
                    raise ModelError("model_error", f"cannot reach the model: {exc!r}",
                                      calls_before + attempt) from exc
                delay = self._delay(attempt, None)
            log.info("model call %d failed; retrying in %.2f s", attempt, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, exc: errors.APIError | None) -> float:
        asked = _asked_delay(exc) if exc is not None else None
        if asked is not None:
            return min(asked, self.backoff_max)
        exponential = min(self.backoff * 2 ** (attempt - 1), self.backoff_max)
        return exponential * random.uniform(0.5, 1.0)


def _api_failure(exc: errors.APIError, calls: int) -> ModelError:
    message = (exc.message or exc.status or "")[:500]
    if exc.code == 429:
        return ModelError("model_rate_limited",
                           f"the model kept answering 429 after {calls} calls: {message}", calls)
    return ModelError("model_error", f"the model answered {exc.code}: {message}", calls)


def _asked_delay(exc: errors.APIError) -> float | None:
    """The `retryDelay` a Gemini 429 carries in its RetryInfo detail, in seconds."""
    details = exc.details if isinstance(exc.details, dict) else {}
    error = details.get("error", details)
    for detail in error.get("details", []) if isinstance(error, dict) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and (match := re.fullmatch(r"(\d+(?:\.\d+)?)s", delay)):
            return float(match.group(1))
    return None


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
                     for e in exc.errors()[:3])
