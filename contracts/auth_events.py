"""Events of auth_service, routed as ``auth.<EventType>``. A user's stream is their user id.

`UserSignedIn` carries the whole profile as the identity provider gave it at that sign-in, so
a consumer can keep "highest version wins" copies of users. `UserSignedOut` tells the other
services to drop what they cache for the user (the seed invalidated caches on logout).
`AccountErased` tells every service to erase everything of the user (docs/architecture.md,
Privacy); it holds ids only, so it outlives the erasure it starts.
"""

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class AuthEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    user_id: str = Field(description="The user (stream) id, stable per issuer and subject.")


class UserSignedIn(AuthEvent):
    """A user signed in and a new session was opened; the profile is as of this sign-in."""

    event_type: ClassVar[str] = "UserSignedIn"
    issuer: str = Field(description="The OpenID issuer, or 'dev' for a development sign-in.")
    subject: str = Field(description="The issuer's stable id of the user (the `sub` claim).")
    email: str = Field("", description="Email address as the issuer gave it.")
    name: str = Field("", description="Display name.")
    picture: str = Field("", description="Avatar URL.")
    method: Literal["oidc", "dev"] = Field("oidc", description="How the user signed in.")


class UserSignedOut(AuthEvent):
    """The user logged out: that session is gone; caches of the user may be dropped."""

    event_type: ClassVar[str] = "UserSignedOut"


class AccountErased(AuthEvent):
    """The user asked for their account to be erased: every service erases what it holds of
    them and reports `ErasureCompleted`. The user's earlier events are tombstones by now."""

    event_type: ClassVar[str] = "AccountErased"
    erasure_id: str = Field(description="The erasure's id (its progress: rb erasure USER).")


AUTH_EVENTS: dict[str, type[AuthEvent]] = {
    cls.event_type: cls for cls in (UserSignedIn, UserSignedOut, AccountErased)
}
