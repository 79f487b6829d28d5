"""The Gemini client wrapper: one rating = one validated `Rating`, or a RatingError that says
why not.

- Each call is bounded by GEMINI_TIMEOUT_SECONDS; a time-out is not retried (the model may
  well have done, and billed, the work), the job fails with the reason.
- 429 and 5xx answers and dropped connections are retried with exponential backoff and
  jitter (or the delay the API asks for, capped), up to GEMINI_MAX_ATTEMPTS calls. The SDK's
  own retries are switched off so that this is the only retry loop.
- The answer must be JSON matching the Rating schema (asked for with a response schema, and
  validated here); an answer that fails validation is asked for once more, then the job fails.
"""

import asyncio
import logging
import random
import re
from dataclasses import dataclass
from typing import Any

import aiohttp
from google import genai
from google.genai import errors, types
from pydantic import ValidationError

from ai_service.prompt import generation_config, user_message
from ai_service.settings import AiSettings
from contracts.ai_events import FailureCode, Rating

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
VALIDATION_ATTEMPTS = 2  # the first answer, and one more when it does not validate


class RatingError(Exception):
    def __init__(self, code: FailureCode, reason: str, model_calls: int) -> None:
        super().__init__(reason)
        self.code, self.reason, self.model_calls = code, reason, model_calls


@dataclass(frozen=True)
class RatingResult:
    rating: Rating
    model_calls: int


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


class GeminiRater:
    def __init__(self, client: genai.Client, settings: AiSettings) -> None:
        self.client, self.model = client, settings.gemini_model
        self.timeout = settings.gemini_timeout_seconds
        self.max_attempts = settings.gemini_max_attempts
        self.backoff, self.backoff_max = (settings.gemini_backoff_seconds,
                                          settings.gemini_backoff_max_seconds)

    async def rate(self, model_input: dict[str, Any]) -> RatingResult:
        calls, problem = 0, ""
        for _ in range(VALIDATION_ATTEMPTS):
            text, used = await self._generate(model_input, calls)
            calls += used
            try:
                return RatingResult(Rating.model_validate_json(text), calls)
            except ValidationError as exc:
                problem = _describe(exc)
                log.warning("model output failed validation: %s", problem)
        raise RatingError("invalid_output",
                          f"the model's answer did not match the rating schema twice: {problem}",
                          calls)

    async def _generate(self, model_input: dict[str, Any], calls_before: int) -> tuple[str, int]:
        """The text of one answer, and how many calls it took."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = await asyncio.wait_for(self.client.aio.models.generate_content(
                    model=self.model, contents=user_message(model_input),
                    config=generation_config()), self.timeout)
                return response.text or "", attempt
            except TimeoutError:
                raise RatingError("timeout", f"the model did not answer within {self.timeout:g} s",
                                  calls_before + attempt) from None
            except errors.APIError as exc:
                final = exc.code not in RETRYABLE_STATUS or attempt == self.max_attempts
                if final:
                    raise _api_failure(exc, calls_before + attempt) from exc
                delay = self._delay(attempt, exc)
            except aiohttp.ClientConnectionError as exc:
                if attempt == self.max_attempts:
                    raise RatingError("model_error", f"cannot reach the model: {exc!r}",
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


def _api_failure(exc: errors.APIError, calls: int) -> RatingError:
    message = (exc.message or exc.status or "")[:500]
    if exc.code == 429:
        return RatingError("model_rate_limited",
                           f"the model kept answering 429 after {calls} calls: {message}", calls)
    return RatingError("model_error", f"the model answered {exc.code}: {message}", calls)


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
