import hashlib
import hmac

from pydantic import Field

from runtime.settings import ServiceSettings


class ResumeSettings(ServiceSettings):
    """resume_service's settings: the shared ones (see `.env.example`) and its share links'."""

    # a share link's slug is its key: never in the access log
    access_log_hidden_prefixes: tuple[str, ...] = ("/public/",)

    # salts the hash that identifies a share's viewer (address, user agent, hour), so the
    # hash of a known address cannot be recomputed; unset: derived from INTERNAL_SECRET
    # (refused as a placeholder in production already)
    share_viewer_salt: str | None = Field(None, min_length=16)
    share_views_recorded: bool = Field(True, description="Record a ShareViewed per viewer "
                                       "and hour (off only to measure what recording costs).")
    share_unlock_seconds: int = Field(3600, ge=60, description="How long the cookie set by "
                                      "a share's password form keeps it unlocked.")
    # where a share's PDF and preview are compiled (resume_service.share_files)
    compile_service_url: str = "http://127.0.0.1:8003"
    # the absolute origin of public links in Open Graph tags (og:url), e.g. https://cv.example
    public_origin: str = Field("", pattern=r"^(https?://[^/\s]+)?$")

    def viewer_salt(self) -> str:
        if self.share_viewer_salt:
            return self.share_viewer_salt
        return hmac.new(self.internal_secret.encode(), b"share-viewer-salt",
                        hashlib.sha256).hexdigest()
