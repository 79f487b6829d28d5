"""Settings every service shares, read from the environment (and a `.env` file)."""

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.db import asyncpg_dsn
from runtime.identity import (
    DEV_IDENTITY_PUBLIC_KEY,
    DEV_IDENTITY_SIGNING_KEY,
    entropy_bits,
    public_key,
)
from runtime.logs import AccessLog, TracePolicy
from runtime.sessions import session_cookie_name

DEV_SECRET = "dev-only-internal-secret-change-me"
# what deploy/compose.env and deploy/gateway.env ship: refused in production like the dev values
SECRET_PLACEHOLDER = "change-me-to-a-long-random-secret-value"
KEY_PLACEHOLDER = "change-me-run-python-m-runtime.identity-keygen"
PLACEHOLDERS = frozenset({DEV_SECRET, SECRET_PLACEHOLDER, KEY_PLACEHOLDER,
                          DEV_IDENTITY_SIGNING_KEY, DEV_IDENTITY_PUBLIC_KEY})
MIN_SECRET_CHARS, MIN_SECRET_BITS = 32, 128
BOOLEAN_WORDS = {"true": "all", "1": "all", "yes": "all", "on": "all",
                 "false": "off", "0": "off", "no": "off"}


def refuse_placeholder(variable: str, value: str) -> None:
    """Outside development: no published value, nothing that says "change me"."""
    if value.strip() in PLACEHOLDERS or "change-me" in value.lower():
        raise ValueError(f"{variable} is a known placeholder; in production set a real value "
                         "(`python -m runtime.identity keygen` prints one)")


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/resumebuilder"
    redis_url: str = "redis://127.0.0.1:6379/0"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # auth_service derives its login-flow cookie key from it
    internal_secret: str = Field(DEV_SECRET, min_length=16)
    # base64url (no padding) of the gateway's raw 32-byte Ed25519 public key
    identity_public_key: str = DEV_IDENTITY_PUBLIC_KEY
    # the session cookie (set by auth_service, read by the gateway) is Secure and, so, named
    # `__Host-rb_session` (Path=/, no Domain); off only for plain HTTP in development
    cookie_secure: bool = True
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
    # the access line per request and the consumer line per message (runtime.logs): `all`,
    # `sampled` (problems, plus every line of one request id in ACCESS_LOG_SAMPLE),
    # `problems` (failed or slow requests and deliveries), `off`; true/false: all/off
    access_log: AccessLog = "sampled"
    access_log_sample: int = Field(20, ge=1, description="With ACCESS_LOG=sampled, one "
                                   "request id in this many is logged in full.")
    access_log_slow_seconds: float = Field(1.0, gt=0, description="A request or delivery "
                                           "this slow is logged whatever ACCESS_LOG says.")

    @field_validator("access_log", mode="before")
    @classmethod
    def _access_log_as_before(cls, value: object) -> object:
        """ACCESS_LOG was a boolean: true still means every line, false none."""
        if isinstance(value, bool):
            return "all" if value else "off"
        if isinstance(value, str) and value.strip().lower() in BOOLEAN_WORDS:
            return BOOLEAN_WORDS[value.strip().lower()]
        return value

    access_log_hidden_prefixes: tuple[str, ...] = Field((), description="Paths whose rest "
                                                        "is a secret (a share link's slug): "
                                                        "logged as the prefix alone.")

    def trace_policy(self) -> TracePolicy:
        return TracePolicy(self.access_log, self.access_log_sample,
                           self.access_log_slow_seconds, self.access_log_hidden_prefixes)

    def relay_dsn(self) -> str | None:
        """Where the in-process outbox relay reads, or None when a separate process runs it."""
        return asyncpg_dsn(self.database_url) if self.relay_in_process else None

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> "ServiceSettings":
        if self.environment == "production":
            if not self.cookie_secure:
                raise ValueError("COOKIE_SECURE must stay on in production")
            refuse_placeholder("INTERNAL_SECRET", self.internal_secret)
            refuse_placeholder("IDENTITY_PUBLIC_KEY", self.identity_public_key)
            _refuse_weak_secret("INTERNAL_SECRET", self.internal_secret)
        public_key(self.identity_public_key)  # malformed: refused in every environment
        return self

    @property
    def session_cookie(self) -> str:
        return session_cookie_name(self.cookie_secure)


def _refuse_weak_secret(variable: str, value: str) -> None:
    if len(value) < MIN_SECRET_CHARS or entropy_bits(value) < MIN_SECRET_BITS:
        raise ValueError(f"{variable} is too guessable: use at least {MIN_SECRET_CHARS} random "
                         f"characters (about {MIN_SECRET_BITS} bits), e.g. from "
                         "`python -m runtime.identity keygen`")
