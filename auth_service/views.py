"""What auth_service's API takes and returns."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    picture: str
    created_at: datetime
    last_sign_in_at: datetime

    @classmethod
    def of(cls, row: Any) -> "UserOut":
        return cls(id=row.id, email=row.email, name=row.name, picture=row.picture,
                   created_at=row.created_at, last_sign_in_at=row.last_sign_in_at)


class DevLoginIn(BaseModel):
    """Development sign-in: the email doubles as the subject."""

    email: Annotated[str, StringConstraints(min_length=3, max_length=254,
                                            pattern=r"^[^@\s]+@[^@\s]+$")]
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    picture: Annotated[str, StringConstraints(max_length=2048)] = Field("")


class EraseAccountIn(BaseModel):
    """The confirmation of an erasure: the account's email, or "erase my account"."""

    confirm: Annotated[str, StringConstraints(min_length=1, max_length=254)]


class ErasureAccepted(BaseModel):
    erasure_id: str
    status: str = "erasing"
    status_url: str


class ServiceProgress(BaseModel):
    service: str
    completed_at: datetime | None


class ErasureOut(BaseModel):
    erasure_id: str
    requested_at: datetime
    status: str  # erasing | erased
    services: list[ServiceProgress]
