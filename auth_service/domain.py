"""The rules of signing in, as pure functions: who a user is, which redirect targets are safe,
which events a sign-in or a sign-out records, when an account erasure may go ahead; and the
domain's errors."""

import uuid
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from contracts.auth_events import AccountErased, UserSignedIn, UserSignedOut

_USER_NAMESPACE = uuid.UUID("6f7d3c1e-2b5a-4c44-9a7e-5e0b7c1d2a90")
MAX_NEXT_LENGTH = 2048
DEV_ISSUER = "dev"


# what a client may send instead of the account's email to confirm an erasure
ERASURE_PHRASE = "erase my account"


class UserNotFound(Exception):
    """No user has this id (a session outliving its user)."""


class ErasureNotConfirmed(Exception):
    """The confirmation is neither the account's email nor the erasure phrase."""


class ReauthenticationRequired(Exception):
    """The session's sign-in is too old for an erasure: sign in again first."""


class ErasureNotFound(Exception):
    """No erasure has this id."""


@dataclass(frozen=True)
class Profile:
    """Who the identity provider says signed in."""

    issuer: str
    subject: str
    email: str = ""
    name: str = ""
    picture: str = ""


def user_id_for(issuer: str, subject: str) -> str:
    """A stable user id per (issuer, subject): the same person always maps to the same id, and
    two first sign-ins of one person cannot create two users."""
    # length-prefixed, so no (issuer, subject) pair can spell another pair's name
    return str(uuid.uuid5(_USER_NAMESPACE, f"{len(issuer)}:{issuer}{subject}"))


def safe_next_path(value: str | None) -> str | None:
    """`value` when it is a path on this site (``/x?y``), else None. Refuses absolute and
    scheme-relative URLs (``//evil``, ``/\\evil``), other schemes and control characters."""
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return None
    if value.startswith(("//", "/\\")) or "\\" in value:
        return None
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def signed_in(profile: Profile, method: Literal["oidc", "dev"] = "oidc",
              user_id: str | None = None) -> UserSignedIn:
    """The sign-in event; `user_id` when the account's id is not the one derived from the
    profile (a new account after an erasure of the first)."""
    return UserSignedIn(
        user_id=user_id or user_id_for(profile.issuer, profile.subject), issuer=profile.issuer,
        subject=profile.subject, email=profile.email[:254], name=profile.name[:200],
        picture=profile.picture[:2048], method=method)


def signed_out(user_id: str) -> UserSignedOut:
    return UserSignedOut(user_id=user_id)


def new_account_id() -> str:
    """The id of an account opened after the person's earlier one was erased: the derived id
    belongs to the erased account for good, so a new one is random."""
    return str(uuid.uuid4())


def check_erasure(confirm: str, email: str, signed_in_at: float, now: float,
                  max_age_seconds: float) -> None:
    """An erasure goes ahead only when confirmed (the account's email, any case, or the
    phrase) and asked from a sign-in at most `max_age_seconds` old."""
    typed = confirm.strip()
    if not (typed.lower() == ERASURE_PHRASE or (email and typed.lower() == email.lower())):
        raise ErasureNotConfirmed
    if now - signed_in_at > max_age_seconds:
        raise ReauthenticationRequired


def account_erased(user_id: str) -> AccountErased:
    return AccountErased(user_id=user_id, erasure_id=str(uuid.uuid4()))
