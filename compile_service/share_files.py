"""The files of a share link (its PDF and the PNG of its page 1), compiled on the share
owner's behalf when resume_service asks with a grant (runtime.grants): resume_service has
checked the share (revoked, expired, password) and recorded the view; this service compiles
what the grant names. Not under `/compile`, so the gateway never forwards a caller here.

The first ask compiles (a job of the owner's, like any other, so it shows in their jobs);
later asks for the same source find its PDF by content address and finish at once. Outcomes:
the file; 503 with Retry-After while it is still compiling after `SHARE_WAIT_SECONDS`; a failed
compile 422 `share_compile_failed`; a grant that does not hold 401."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compile_service.previews import preview_etag
from compile_service.wiring import Artifacts, Previews, Service
from contracts.share_events import ContactField
from runtime.grants import GRANT_HEADER, InvalidGrant, verified
from runtime.http import ApiError, error_responses

SHARE_GRANT = "share-files"

router = APIRouter(prefix="/internal/shares", include_in_schema=False)


class ShareFile(BaseModel):
    """What a grant names: one version of one resume of its owner, in the share's template."""

    model_config = ConfigDict(frozen=True)

    owner_id: str
    resume_id: str
    version: int = Field(ge=1)
    template: str
    options: dict[str, Any]
    hidden: tuple[ContactField, ...]
    exp: float


def _granted(request: Request, body: bytes, signature: str | None) -> ShareFile:
    try:
        claims = verified(request.app.state.settings.internal_secret, SHARE_GRANT, body,
                          signature)
        return ShareFile.model_validate(claims)
    except (InvalidGrant, ValidationError, ValueError) as exc:
        raise ApiError(401, "invalid_grant", "the grant does not hold") from exc


@router.post("/{what}", responses=error_responses(401, 404, 409, 422, 503))
async def share_file(what: Annotated[Literal["pdf", "preview.png"], Path()], request: Request,
                     service: Service, store: Artifacts, previews: Previews,
                     signature: Annotated[str | None, Header(alias=GRANT_HEADER)] = None
                     ) -> Response:
    wanted = _granted(request, await request.body(), signature)
    key = await service.share_pdf(wanted.owner_id, wanted.resume_id, wanted.version,
                                  wanted.template, wanted.options, wanted.hidden)
    if what == "preview.png":
        return Response(await previews.page1(key), media_type="image/png",
                        headers={"ETag": preview_etag(key)})
    size = await store.size(key)
    if size is None:
        raise ApiError(404, "pdf_gone", "the PDF is no longer stored; ask again")
    return StreamingResponse(store.chunks(key), media_type="application/pdf", headers={
        "ETag": f'"{key}"', "Content-Length": str(size)})
