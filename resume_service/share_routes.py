"""The owner's routes of share links: make, list (with statistics) and revoke. Another user's
resume or share answers 404 like a missing one (`OwnedResume`; revoke checks the owner in its
UPDATE)."""

from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from contracts.resume import Extensions
from contracts.share_events import ContactField
from resume_service.share_views import ShareStats, share_stats
from resume_service.shares import NewShare
from resume_service.wiring import OwnedResume, Service, Shares
from runtime.bounds import Version
from runtime.http import ApiError, error_responses, public_prefix

TemplateName = Annotated[str, StringConstraints(max_length=64, pattern=r"^[a-z0-9_-]+$")]
Password = Annotated[str, StringConstraints(min_length=4, max_length=128, pattern=r"^[^\x00]*$")]

LONGEST_LIFETIME = timedelta(days=3650)  # an expiry further off is a typo (or out of range)

router = APIRouter(prefix="/resume", tags=["shares"], responses=error_responses(401, 503))


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Version | None = Field(None, description="The version to show; absent: always "
                                    "the latest.")
    template: TemplateName | None = Field(None, description="For the share's PDF; absent: "
                                          "the resume's own.")
    options: Extensions = Field(default_factory=dict, description="The template's options.")
    expires_at: AwareDatetime | None = Field(None, description="When the link stops working "
                                             "(410 afterwards); in the next 10 years.")
    password: Password | None = Field(None, description="Asked before the resume is shown; "
                                      "kept only as an Argon2 hash.")
    hidden: list[ContactField] = Field(default_factory=list, max_length=8,
                                       description="Contact fields left out of the public view.")


class ShareOut(BaseModel):
    id: str
    slug: str
    url: str = Field(description="The public JSON; its HTML page is this URL + /page.")
    version: int | None = Field(description="null: always the latest version.")
    template: str
    options: dict[str, Any]
    expires_at: datetime | None
    protected: bool
    hidden: list[str]
    created_at: datetime
    revoked_at: datetime | None
    stats: ShareStats


def share_out(row: Any, request: Request, stats: ShareStats) -> ShareOut:
    return ShareOut(id=row.id, slug=row.slug, url=f"{public_prefix(request)}/public/{row.slug}",
                    version=row.version, template=row.template, options=row.options,
                    expires_at=row.expires_at, protected=row.password_hash is not None,
                    hidden=row.hidden, created_at=row.created_at, revoked_at=row.revoked_at,
                    stats=stats)


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


@router.post("/{resume_id}/shares", response_model=ShareOut, status_code=201,
             responses=error_responses(404, 413, 422),
             summary="Share a resume: a public link to one version (or the latest)")
async def create_share(resume: OwnedResume, body: ShareIn, shares: Shares, service: Service,
                       request: Request) -> ShareOut:
    now = service.clock()
    if body.expires_at is not None and not now < body.expires_at <= now + LONGEST_LIFETIME:
        raise ApiError(422, "validation_error", "the request is not valid", fields=[{
            "path": "expires_at", "message": "must be in the future, within 10 years",
            "type": "value_error"}])
    new = NewShare(body.version, body.template or resume.row.template or "classic",
                   body.options, body.expires_at, body.password, list(dict.fromkeys(body.hidden)))
    row = await shares.create(resume.row.owner_id, resume.row.id, resume.row.version, new, now)
    return share_out(_Row(row), request, ShareStats())


@router.get("/{resume_id}/shares", response_model=list[ShareOut],
            responses=error_responses(404, 422),
            summary="The resume's share links, revoked ones too, with their statistics")
async def list_shares(resume: OwnedResume, shares: Shares, request: Request) -> list[ShareOut]:
    rows = await shares.listed(resume.row.id)
    stats = await share_stats(shares.engine, [row.id for row in rows])
    return [share_out(row, request, stats[row.id]) for row in rows]


@router.delete("/{resume_id}/shares/{share_id}", status_code=204,
               responses=error_responses(404, 422),
               summary="Revoke a share link: its public URL answers 404 from now on")
async def revoke_share(resume_id: UUID, share_id: UUID, resume: OwnedResume,
                       shares: Shares) -> Response:
    await shares.revoke(resume.row.owner_id, resume.row.id, str(share_id))
    return Response(status_code=204)
