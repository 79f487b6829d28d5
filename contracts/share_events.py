"""Events of a resume's share links, produced by resume_service and stored in its event store,
one stream per share (the share id). A share's password is never in an event: only whether
it has one (`protected`); its hash stays in resume_service's `shares` table.

`ShareViewed` is what the statistics are made of: one per viewer per hour (the viewer is a
salted hash of address, user agent and hour, never the address itself), bots flagged apart."""

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

ContactField = Literal["email", "phone", "address", "location", "url", "image", "links",
                       "profiles"]
ViewKind = Literal["view", "download"]


def hidden_left_out(document: dict[str, Any], hidden: list[str]) -> dict[str, Any]:
    """A resume document (as JSON) without the contact fields a share hides: what its public
    JSON, page, PDF and preview show."""
    contact = {k: v for k, v in (document.get("contact") or {}).items() if k not in hidden}
    return {**document, "contact": contact}


class ShareEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    share_id: str = Field(description="The share (stream) id.")
    resume_id: str = Field(description="The shared resume.")
    owner_id: str = Field(description="The user who owns the resume and the share.")


class ShareCreated(ShareEvent):
    """A public link to a resume: pinned to a version, or following the latest."""

    event_type: ClassVar[str] = "ShareCreated"
    slug: str = Field(description="The unguessable part of the public URL.")
    version: int | None = Field(description="The version shown; null: always the latest.")
    template: str = Field(description="The template a PDF of the share is compiled with.")
    options: dict[str, JsonValue] = Field(description="The template's options.")
    expires_at: datetime | None = Field(description="When the link stops working; null: never.")
    protected: bool = Field(description="Whether the link asks for a password.")
    hidden: list[ContactField] = Field(description="Contact fields left out of the public view.")


class ShareRevoked(ShareEvent):
    """The link stopped working for good."""

    event_type: ClassVar[str] = "ShareRevoked"


class ShareViewed(ShareEvent):
    """Someone opened the link (first time this hour for that viewer)."""

    event_type: ClassVar[str] = "ShareViewed"
    version: int = Field(description="The resume version the viewer got.")
    kind: ViewKind = Field(description="view (JSON or page) or download (a file).")
    viewer: str = Field(description="Salted hash of address, user agent and hour.")
    bot: bool = Field(description="The user agent looks like a crawler or a link preview.")


SHARE_EVENTS: dict[str, type[ShareEvent]] = {
    cls.event_type: cls for cls in (ShareCreated, ShareRevoked, ShareViewed)
}

# The cookie a share's password form sets (Path: that share's public URL); the gateway passes
# this one cookie, and no other, to resume_service on the public routes.
UNLOCK_COOKIE = "rb_share"
