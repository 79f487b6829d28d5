"""Settings of ai_service (un-prefixed environment variables, see `.env.example`); the job
machinery's own (JOB_*) come from runtime.jobs.JobSettings."""

from pydantic import Field

from runtime.jobs import JobSettings


class AiSettings(JobSettings):
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
    import_max_file_bytes: int = Field(4 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024,
                                       description="Largest resume file POST /ai/import "
                                       "takes (then 413).")
    import_extract_timeout_seconds: float = Field(10.0, gt=0, description="Limit of reading "
                                                  "an uploaded file's text.")
    import_concurrency: int = Field(2, ge=1, le=64, description="Import jobs one worker runs "
                                    "at once.")

    @property
    def import_max_body_bytes(self) -> int:
        """The upload route's body limit: the file and its multipart framing."""
        return self.import_max_file_bytes + 64 * 1024
