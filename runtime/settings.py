"""Settings every service shares, read from the environment (and a `.env` file)."""

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.db import asyncpg_dsn

DEV_SECRET = "dev-only-internal-secret-change-me"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/resumebuilder"
    redis_url: str = "redis://127.0.0.1:6379/0"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    internal_secret: str = Field(DEV_SECRET, min_length=16)
    identity_ttl_seconds: int = 60
    cache_ttl_seconds: int = 300
    read_cache: bool = True
    max_body_bytes: int = 256 * 1024
    relay_poll_seconds: float = 1.0
    relay_in_process: bool = True
    consumer_max_attempts: int = 5
    # observability (runtime.observe): Prometheus /metrics, JSON logs, one access line per request
    metrics_enabled: bool = True
    # the ops listener (runtime.ops): /metrics, /readyz, /healthz, never on the public port
    ops_port: int = Field(0, ge=0, le=65535, description="Port of the process's ops listener "
                                                         "(/metrics, /readyz, /healthz); 0: none.")
    ops_host: str = Field("127.0.0.1", description="Address the ops listener binds; 0.0.0.0 "
                                                  "only inside a private container network.")
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    access_log: bool = True

    def relay_dsn(self) -> str | None:
        """Where the in-process outbox relay reads, or None when a separate process runs it."""
        return asyncpg_dsn(self.database_url) if self.relay_in_process else None

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> "ServiceSettings":
        if self.environment == "production" and self.internal_secret == DEV_SECRET:
            raise ValueError("INTERNAL_SECRET must be set to a real secret in production")
        return self
