"""Settings of auth_service (env vars un-prefixed, e.g. OIDC_CLIENT_ID)."""

from pydantic import Field, model_validator

from runtime.jobs import JobSettings
from runtime.sessions import DEFAULT_ABSOLUTE_SECONDS, DEFAULT_IDLE_SECONDS

GOOGLE_METADATA_URL = "https://accounts.google.com/.well-known/openid-configuration"


class ExportSettings(JobSettings):
    """The account export (auth_service/exports.py), read by the routes and the worker."""

    export_reuse_seconds: float = Field(600.0, ge=0, description="A succeeded export asked "
                                        "for again this soon is answered as it is.")
    export_keep_seconds: float = Field(7 * 86400.0, gt=0, description="How long a finished "
                                       "archive is kept (then deleted).")
    export_max_bytes: int = Field(512 * 2**20, gt=0, description="An archive past this "
                                  "size fails its export (`too_large`).")
    export_chunk_bytes: int = Field(2**20, gt=0, le=64 * 2**20, description="Bytes per "
                                    "stored row of an archive, and per chunk of a download.")


class AuthSettings(ExportSettings):
    oidc_server_metadata_url: str = GOOGLE_METADATA_URL
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scope: str = "openid email profile"
    # where the identity provider sends the browser back: the gateway's public callback
    oidc_redirect_uri: str = "http://127.0.0.1:8000/api/auth/callback"
    oidc_timeout_seconds: float = 10.0
    login_flow_seconds: int = 600
    after_login_path: str = "/"
    session_idle_seconds: int = DEFAULT_IDLE_SECONDS
    session_absolute_seconds: int = DEFAULT_ABSOLUTE_SECONDS
    dev_login_enabled: bool = False
    # an account erasure needs a sign-in at most this old (DELETE /user/me)
    erasure_sign_in_max_age_minutes: float = 10

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "AuthSettings":
        if self.environment == "production":
            if self.dev_login_enabled:
                raise ValueError("DEV_LOGIN_ENABLED must not be set in production")
            if not (self.oidc_client_id and self.oidc_client_secret):
                raise ValueError("OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are required in "
                                 "production")
        return self

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_client_id)
