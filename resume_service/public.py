"""Public routes of share links, no session (the gateway serves `/api/public/` without one and
passes only the share's unlock cookie): the shared resume as JSON, as an HTML page with Open
Graph tags, as PDF and as a PNG of its page 1 (resume_service.share_files), and the password
form's target. Unknown, revoked, or a deleted resume: 404;
expired: 410; protected: 401 until the password is given, 429 after too many wrong ones.
Each answered read records a view (resume_service.share_views), without waiting for it."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Form, Header, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from starlette.background import BackgroundTask

from contracts.resume import ResumeDocument
from contracts.share_events import UNLOCK_COOKIE
from resume_service.share_access import PasswordRequired, ShareAccess, TooManyTries
from resume_service.share_files import FileKind
from resume_service.share_page import password_form, share_page
from resume_service.shares import PublicShare, ShareExpired, ShareGone
from resume_service.wiring import Files, Service, Shares, Views
from runtime.downloads import content_disposition, etag_matches
from runtime.http import OrjsonResponse, error_response, error_responses, public_prefix

JSON = "application/json"
HTML = "text/html"

SlugPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{8,64}$",
                               description="The share's slug, from its URL.")]
PasswordHeader = Annotated[str | None, Header(alias="X-Share-Password", max_length=128,
                                              description="The share's password, if it has "
                                              "one (API clients; browsers use the form).")]
IfNoneMatch = Annotated[str | None, Header(max_length=512)]

router = APIRouter(prefix="/public", tags=["public"],
                   responses=error_responses(404, 410, 422, 503))

_LOCKED = {"description": "The share has a password: send it as X-Share-Password (or "
                          "unlock it with the form)"}
_HTML_LOCKED = {"description": "The share has a password: the form that asks for it",
                "content": {HTML: {"schema": {"type": "string"}}}}
_TOO_MANY = {"description": "Too many wrong passwords for this share: try again after "
                            "Retry-After seconds"}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait",
                                "schema": {"type": "integer"}}}
_FILE_ERRORS: dict[int | str, dict[str, Any]] = {
    304: {"description": "Same as the copy named by If-None-Match"},
    401: {**error_responses(401)[401], **_LOCKED},
    422: {**error_responses(422)[422], "description": "The share's template cannot make it "
          "(`unknown_template`, `invalid_options`, `unsupported_locale`, "
          "`share_compile_failed`), or a malformed slug"},
    429: {**error_responses(429)[429], **_TOO_MANY},
    503: {**error_responses(503)[503], "headers": _RETRY_AFTER,
          "description": "It cannot be made now, or is still compiling "
                         "(`compile_unavailable`, `share_compile_pending`)"}}


class PublicResume(ResumeDocument):
    """The shared version of the resume; the contact fields the owner chose to hide are left
    out."""

    version: int


def _access(request: Request) -> ShareAccess:
    return request.app.state.share_access  # type: ignore[no-any-return]


def address_of(forwarded_for: bytes | str | None, peer: Any) -> str:
    """The caller's address as the gateway saw it (it sets X-Forwarded-For itself, after
    dropping any the client sent); the peer when called directly."""
    if forwarded_for:
        text = (forwarded_for.decode("latin-1") if isinstance(forwarded_for, bytes)
                else forwarded_for)
        return text.split(",")[-1].strip()
    return str(peer[0]) if peer else "unknown"


def _address(request: Request) -> str:
    return address_of(request.headers.get("x-forwarded-for"), request.scope.get("client"))


async def _open_share(slug: str, request: Request, shares: Shares, service: Service,
                      password: str | None) -> PublicShare:
    share = await shares.resolve(slug, service.clock().timestamp())
    await _access(request).check(shares, share, password, request.cookies.get(UNLOCK_COOKIE),
                                 _address(request))
    return share


def _record(views: Views, share: PublicShare, request: Request) -> None:
    views.record(share, "view", _address(request), request.headers.get("user-agent", ""))


def _share_url(request: Request, slug: str) -> str:
    return f"{public_prefix(request)}/public/{slug}"


@router.get("/{slug}", response_model=PublicResume,
            responses={401: {**error_responses(401)[401], **_LOCKED},
                       429: {**error_responses(429)[429], **_TOO_MANY}},
            summary="A shared resume as JSON (no session needed)")
async def public_resume(slug: SlugPath, request: Request, shares: Shares, service: Service,
                        views: Views, password: PasswordHeader = None) -> Response:
    share = await _open_share(slug, request, shares, service, password)
    _record(views, share, request)
    return Response(share.body, media_type=JSON, headers={"Cache-Control": "no-store"})


@router.get("/{slug}/page", response_class=Response,
            responses={200: {"content": {HTML: {"schema": {"type": "string"}}},
                             "description": "The resume as a small HTML page with Open "
                                            "Graph tags"},
                       401: _HTML_LOCKED, 429: {**error_responses(429)[429], **_TOO_MANY}},
            summary="A shared resume as an HTML page for people and link previews")
async def public_page(slug: SlugPath, request: Request, shares: Shares, service: Service,
                      views: Views, password: PasswordHeader = None) -> Response:
    try:
        share = await _open_share(slug, request, shares, service, password)
    except PasswordRequired:
        return _form(request, slug, wrong=password is not None)
    _record(views, share, request)
    base = f"{request.app.state.public_origin}{_share_url(request, slug)}"
    return HTMLResponse(share_page(orjson.loads(share.body), f"{base}/page",
                                   f"{base}/preview.png"),
                        headers={"Cache-Control": "no-store"})


@router.get("/{slug}/pdf", response_class=StreamingResponse,
            responses={200: {"content": {"application/pdf": {}}, "description": "The shared "
                             "version as PDF, in the share's template (compiled on the first "
                             "ask, then found by content)"}, **_FILE_ERRORS},
            summary="A shared resume as PDF (no session needed)")
async def public_pdf(slug: SlugPath, request: Request, shares: Shares, service: Service,
                     views: Views, files: Files, password: PasswordHeader = None,
                     if_none_match: IfNoneMatch = None) -> Response:
    share = await _open_share(slug, request, shares, service, password)
    return await _file(share, "pdf", request, files, views, if_none_match)


@router.get("/{slug}/preview.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": "A PNG of page 1 of "
                             "the share's PDF, for link previews (og:image)"}, **_FILE_ERRORS},
            summary="A PNG of page 1 of a shared resume (no session needed)")
async def public_preview(slug: SlugPath, request: Request, shares: Shares, service: Service,
                         views: Views, files: Files, password: PasswordHeader = None,
                         if_none_match: IfNoneMatch = None) -> Response:
    share = await _open_share(slug, request, shares, service, password)
    return await _file(share, "preview.png", request, files, views, if_none_match)


async def _file(share: PublicShare, what: FileKind, request: Request, files: Files,
                views: Views, if_none_match: str | None) -> Response:
    """compile_service's file relayed as it streams in; revalidated on every ask
    (`no-cache`), so a revoked share's file is gone at once from every cache too."""
    opened = await files.open(share, what)
    etag = opened.headers.get("etag", "")
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag and etag_matches(if_none_match, etag):
        await opened.aclose()
        return Response(status_code=304, headers=headers)
    views.record(share, "download" if what == "pdf" else "view", _address(request),
                 request.headers.get("user-agent", ""))
    if what == "pdf":
        title = orjson.loads(share.body).get("title", "")
        headers["Content-Disposition"] = content_disposition(title, "pdf", "inline")
    if "content-length" in opened.headers:
        headers["Content-Length"] = opened.headers["content-length"]
    return StreamingResponse(opened.aiter_raw(), media_type=opened.headers["content-type"],
                             headers=headers, background=BackgroundTask(opened.aclose))


@router.post("/{slug}/unlock", status_code=303, response_class=RedirectResponse,
             responses={303: {"description": "Unlocked: back to the page, with a cookie that "
                                             "keeps this share open for a while"},
                        401: _HTML_LOCKED, 429: {**error_responses(429)[429], **_TOO_MANY},
                        **error_responses(413)},
             summary="The password form's target: sets the share's unlock cookie")
async def unlock_share(slug: SlugPath, request: Request, shares: Shares, service: Service,
                       password: Annotated[str, Form(max_length=128)]) -> Response:
    share = await shares.resolve(slug, service.clock().timestamp())
    if not share.protected:
        return RedirectResponse(f"{_share_url(request, slug)}/page", status_code=303)
    access = _access(request)
    try:
        await access.check(shares, share, password, None, _address(request))
    except PasswordRequired:
        return _form(request, slug, wrong=True)
    response = RedirectResponse(f"{_share_url(request, slug)}/page", status_code=303)
    response.set_cookie(UNLOCK_COOKIE, access.unlock_cookie(share.share_id),
                        max_age=access.unlock_seconds, path=_share_url(request, slug),
                        secure=request.app.state.cookie_secure, httponly=True,
                        samesite="strict")
    return response


def _form(request: Request, slug: str, wrong: bool) -> HTMLResponse:
    return HTMLResponse(password_form(f"{_share_url(request, slug)}/unlock", wrong),
                        status_code=401, headers={"Cache-Control": "no-store"})


def install_share_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ShareGone)
    async def _gone(*_: object) -> OrjsonResponse:
        return error_response(404, "share_not_found", "no such share")

    @app.exception_handler(ShareExpired)
    async def _expired(*_: object) -> OrjsonResponse:
        return error_response(410, "share_expired", "this share link has expired")

    @app.exception_handler(PasswordRequired)
    async def _locked(*_: object) -> OrjsonResponse:
        return error_response(401, "share_password_required",
                              "this share needs its password (X-Share-Password)")

    @app.exception_handler(TooManyTries)
    async def _too_many(_: Request, exc: TooManyTries) -> OrjsonResponse:
        return error_response(429, "too_many_password_tries",
                              f"too many wrong passwords; try again in {exc.retry_after} s",
                              retry_after=exc.retry_after)
