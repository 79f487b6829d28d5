"""Settings of the gateway (env vars un-prefixed, e.g. RESUME_SERVICE_URL)."""

from pathlib import Path

from pydantic import Field, model_validator

from gateway.addresses import Network, parse_networks
from runtime.identity import DEV_IDENTITY_SIGNING_KEY, public_half
from runtime.sessions import DEFAULT_ABSOLUTE_SECONDS, DEFAULT_IDLE_SECONDS
from runtime.settings import ServiceSettings, refuse_placeholder


class GatewaySettings(ServiceSettings):
    # a share link's slug is its key: never in the access log
    access_log_hidden_prefixes: tuple[str, ...] = ("/api/public/",)
    # base64url (no padding) of the raw 32-byte Ed25519 private key that signs the identity
    # the gateway sends to services; the gateway alone holds it (deploy/gateway.env)
    identity_signing_key: str = DEV_IDENTITY_SIGNING_KEY
    # each token is for one request; it only has to outlive the trip to the service
    identity_ttl_seconds: int = Field(15, ge=1, le=300)
    auth_service_url: str = "http://127.0.0.1:8001"
    resume_service_url: str = "http://127.0.0.1:8002"
    compile_service_url: str = "http://127.0.0.1:8003"
    ai_service_url: str = "http://127.0.0.1:8004"
    live_service_url: str = "http://127.0.0.1:8005"
    # comma-separated origins allowed to call with credentials (CORS) and to send unsafe
    # requests (CSRF); the gateway's own public origin belongs here too
    allowed_origins: str = ("http://localhost:5173,http://127.0.0.1:5173,"
                            "http://localhost:8000,http://127.0.0.1:8000")
    upstream_connect_timeout_seconds: float = 2.0
    upstream_timeout_seconds: float = 30.0
    upstream_pool_size: int = 256
    redis_max_connections: int = Field(64, ge=1)
    # a request waits at most this long for a free upstream connection (then 503)
    upstream_slot_timeout_seconds: float = Field(5.0, gt=0)
    # a request's whole body must arrive within this (then 408); it is read before the
    # request takes an upstream connection
    client_body_timeout_seconds: float = Field(10.0, gt=0)
    # the body limit of the paths that take a file (gateway.routing.UPLOAD_PATHS): a 4 MiB
    # resume file and its multipart framing; every other path keeps MAX_BODY_BYTES
    max_upload_bytes: int = Field(4 * 1024 * 1024 + 64 * 1024, ge=1)
    # long polls (?wait=) one session / one client address may hold open at once (then 429)
    long_polls_per_session: int = Field(4, ge=1)
    long_polls_per_ip: int = Field(16, ge=1)
    # event streams (GET /api/events) one session / one client address may hold open at once
    # (then 429): a tab each, so more than long polls per address
    event_streams_per_session: int = Field(4, ge=1)
    event_streams_per_ip: int = Field(64, ge=1)
    # connections to live_service: each open event stream holds one for as long as it lasts
    live_pool_size: int = Field(4096, ge=1)
    session_idle_seconds: int = DEFAULT_IDLE_SECONDS
    session_absolute_seconds: int = DEFAULT_ABSOLUTE_SECONDS
    rate_limit_window_seconds: int = 60
    rate_limit_per_session: int = 600
    rate_limit_per_ip: int = 1200
    # keep session lookups in memory while Redis tracks the session keys (gateway.gate);
    # off: every request asks Redis
    keep_session_lookups: bool = True
    # comma-separated addresses or networks (CIDR) of the proxies in front of the gateway:
    # only from them is X-Forwarded-For read (gateway.addresses); the gateway runs with
    # uvicorn's --no-proxy-headers, so this is the only such rule
    trusted_proxies: str = ""
    openapi_cache_seconds: float = 30.0
    # the web client's build (gateway.web_assets); relative paths are from the project root
    web_dist_dir: str = "web/dist"

    @model_validator(mode="after")
    def _refuse_open_origins(self) -> "GatewaySettings":
        if "*" in self.origins:
            raise ValueError("ALLOWED_ORIGINS must list origins; '*' cannot carry credentials")
        parse_networks(self.trusted_proxies)  # refuses a bad entry at start, naming it
        return self

    @model_validator(mode="after")
    def _refuse_unusable_signing_key(self) -> "GatewaySettings":
        if self.environment == "production":
            refuse_placeholder("IDENTITY_SIGNING_KEY", self.identity_signing_key)
        if public_half(self.identity_signing_key) != self.identity_public_key.strip():
            raise ValueError("IDENTITY_SIGNING_KEY and IDENTITY_PUBLIC_KEY are not one key pair")
        return self

    @property
    def web_dist(self) -> Path:
        return Path(__file__).resolve().parents[1] / self.web_dist_dir

    @property
    def proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(o.strip().rstrip("/") for o in self.allowed_origins.split(",")
                         if o.strip())

    @property
    def upstreams(self) -> dict[str, str]:
        """Service name -> base URL."""
        return {"auth": self.auth_service_url, "resume": self.resume_service_url,
                "compile": self.compile_service_url, "ai": self.ai_service_url,
                "live": self.live_service_url}

    @property
    def pool_sizes(self) -> dict[str, int]:
        """Upstream connections per service: live_service's streams hold theirs."""
        return {name: self.live_pool_size if name == "live" else self.upstream_pool_size
                for name in self.upstreams}
