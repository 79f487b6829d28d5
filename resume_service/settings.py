from pydantic import Field, model_validator

from runtime.settings import ServiceSettings, refuse_placeholder

DEV_VIEWER_SALT = "dev-only-share-viewer-salt-change-me"


class ResumeSettings(ServiceSettings):
    """resume_service's settings: the shared ones (see `.env.example`) and its share links'."""

    # salts the hash that identifies a share's viewer (address, user agent, hour): without
    # it the hash of a known address could be recomputed
    share_viewer_salt: str = Field(DEV_VIEWER_SALT, min_length=16)
    share_views_recorded: bool = Field(True, description="Record a ShareViewed per viewer "
                                       "and hour (off only to measure what recording costs).")
    share_unlock_seconds: int = Field(3600, ge=60, description="How long the cookie set by "
                                      "a share's password form keeps it unlocked.")
    # the absolute origin of public links in Open Graph tags (og:url), e.g. https://cv.example
    public_origin: str = Field("", pattern=r"^(https?://[^/\s]+)?$")

    @model_validator(mode="after")
    def _refuse_placeholder_salt(self) -> "ResumeSettings":
        if self.environment == "production":
            refuse_placeholder("SHARE_VIEWER_SALT", self.share_viewer_salt)
        return self
