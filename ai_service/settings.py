"""Settings of ai_service (un-prefixed environment variables, see `.env.example`)."""

from pydantic import Field

from runtime.settings import ServiceSettings


class AiSettings(ServiceSettings):
    gemini_api_key: str = Field("", description="Google AI Studio key; without it rating "
                                                "answers 503 and the rest still works.")
    gemini_model: str = Field("gemini-2.5-flash", min_length=1)
    gemini_base_url: str = Field("", description="Another endpoint (tests: the fake server).")
    gemini_timeout_seconds: float = Field(60.0, gt=0, description="Limit of one model call.")
    gemini_max_attempts: int = Field(4, ge=1, le=10, description="Calls per answer when the "
                                                                 "model answers 429 or 5xx.")
    gemini_backoff_seconds: float = Field(1.0, ge=0, description="First retry delay; doubles.")
    gemini_backoff_max_seconds: float = Field(20.0, ge=0)
    rating_limit: int = Field(10, ge=1, description="New ratings a user may start per window.")
    rating_limit_window_seconds: int = Field(3600, ge=1)
    rating_concurrency: int = Field(4, ge=1, le=64, description="Jobs one worker runs at once.")
    rating_version_wait_seconds: float = Field(5.0, ge=0, description="How long a request "
                                               "waits for the resume (or the version it names) to "
                                               "reach this service's replica.")
    rating_status_max_wait_seconds: float = Field(30.0, ge=0)
    ai_worker_in_app: bool = Field(True, description="Run the rating worker inside the HTTP "
                                                     "process (else: python -m ai_service.worker).")
