"""HTTP routes of auth_service (the gateway adds the `/api` prefix) and how its domain errors
answer. The gateway resolves the session cookie; routes take the user and the session from the
signed internal token, never from the cookie (sign-out and sign-in end the session the gateway
resolved)."""

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from auth_service.domain import (
    DEV_ISSUER,
    ErasureNotConfirmed,
    ErasureNotFound,
    Profile,
    ReauthenticationRequired,
    UserNotFound,
    safe_next_path,
)
from auth_service.service import AuthService
from auth_service.settings import AuthSettings
from auth_service.views import (
    DevLoginIn,
    EraseAccountIn,
    ErasureAccepted,
    ErasureOut,
    ServiceProgress,
    UserOut,
)
from auth_service.wiring import Erasure, Oidc, Service, Settings
from runtime.http import ApiError, OrjsonResponse, error_response, error_responses, public_prefix
from runtime.identity import CurrentIdentity, CurrentSessionId, CurrentUser

NEXT_KEY = "rb_next"

router = APIRouter(tags=["auth"], responses=error_responses(503))


@router.get("/auth/login", status_code=302, responses=error_responses(400, 422),
            summary="Start signing in: redirect to the identity provider")
async def login(request: Request, oidc: Oidc, settings: Settings,
                next: Annotated[str | None, Query(max_length=2048)] = None) -> Response:
    target = safe_next_path(next) if next is not None else None
    if next is not None and target is None:
        raise ApiError(400, "bad_next", "`next` must be a path on this site, like /resumes")
    response = await oidc.redirect(request)
    request.session[NEXT_KEY] = target or settings.after_login_path
    return response


@router.get("/auth/callback", status_code=303, responses=error_responses(400, 422),
            summary="Where the identity provider sends the browser back")
async def callback(request: Request, current: CurrentSessionId, oidc: Oidc, service: Service,
                   settings: Settings) -> Response:
    profile = await oidc.complete(request)
    target = safe_next_path(request.session.pop(NEXT_KEY, None))
    response = RedirectResponse(target or settings.after_login_path, status_code=303)
    await _open_session(service, settings, response, profile, "oidc", current)
    return response


@router.post("/auth/logout", status_code=204, responses=error_responses(401, 422),
             summary="Sign out: the session dies at once")
async def logout(identity: CurrentIdentity, service: Service, settings: Settings) -> Response:
    await service.sign_out(identity.user_id, identity.session_id)
    response = Response(status_code=204)
    response.delete_cookie(settings.session_cookie, path="/", secure=settings.cookie_secure,
                           httponly=True, samesite="lax")
    return response


@router.get("/user/me", response_model=UserOut, responses=error_responses(401),
            summary="The signed-in user")
async def me(user: CurrentUser, service: Service) -> UserOut:
    return UserOut.of(await service.user(user))


@router.delete("/user/me", status_code=202, response_model=ErasureAccepted,
               responses=error_responses(401, 413, 422),
               summary="Erase the account and everything it owns, in every service")
async def erase_me(body: EraseAccountIn, request: Request, identity: CurrentIdentity,
                   erasure: Erasure, settings: Settings, response: Response) -> ErasureAccepted:
    """`confirm` is the account's email or "erase my account"; the session's sign-in must be
    at most ERASURE_SIGN_IN_MAX_AGE_MINUTES old (else 401 `reauthentication_required`).
    Every session of the user ends at once; the other services' progress is at
    `status_url`."""
    erasure_id = await erasure.erase(identity.user_id, identity.session_id, body.confirm)
    response.delete_cookie(settings.session_cookie, path="/", secure=settings.cookie_secure,
                           httponly=True, samesite="lax")
    return ErasureAccepted(erasure_id=erasure_id,
                           status_url=f"{public_prefix(request)}/auth/erasures/{erasure_id}")


@router.get("/auth/erasures/{erasure_id}", response_model=ErasureOut,
            responses=error_responses(404, 422),
            summary="An account erasure's progress, per service (no session: it has none)")
async def erasure_progress(erasure: Erasure,
                           erasure_id: Annotated[str, Path(max_length=64)]) -> ErasureOut:
    progress = await erasure.progress(erasure_id)
    return ErasureOut(erasure_id=progress["erasure_id"], requested_at=progress["requested_at"],
                      status=progress["status"],
                      services=[ServiceProgress(**s) for s in progress["services"]])


dev_router = APIRouter(tags=["auth"], responses=error_responses(503))


@dev_router.post("/auth/dev-login", response_model=UserOut,
                 responses=error_responses(413, 422),
                 summary="Development sign-in without an identity provider (off by default)")
async def dev_login(body: DevLoginIn, response: Response, current: CurrentSessionId,
                    service: Service, settings: Settings) -> UserOut:
    profile = Profile(issuer=DEV_ISSUER, subject=body.email.lower(), email=body.email,
                      name=body.name, picture=body.picture)
    user_id = await _open_session(service, settings, response, profile, "dev", current)
    return UserOut.of(await service.user(user_id))


async def _open_session(service: AuthService, settings: AuthSettings, response: Response,
                        profile: Profile, method: Literal["oidc", "dev"],
                        current: str | None) -> str:
    user_id, session_id = await service.sign_in(profile, method, replaces=current)
    response.set_cookie(settings.session_cookie, session_id,
                        max_age=settings.session_absolute_seconds, path="/",
                        secure=settings.cookie_secure, httponly=True, samesite="lax")
    return user_id


def install_domain_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(UserNotFound)  # a session outliving its user
    async def _no_user(*_: object) -> OrjsonResponse:
        return error_response(401, "unauthenticated", "the session's user no longer exists")

    @app.exception_handler(ReauthenticationRequired)
    async def _stale_sign_in(*_: object) -> OrjsonResponse:
        return error_response(401, "reauthentication_required",
                              "sign in again to erase the account")

    @app.exception_handler(ErasureNotConfirmed)
    async def _not_confirmed(*_: object) -> OrjsonResponse:
        return error_response(422, "erasure_not_confirmed", "`confirm` must be the account's "
                              "email or \"erase my account\"")

    @app.exception_handler(ErasureNotFound)
    async def _no_erasure(*_: object) -> OrjsonResponse:
        return error_response(404, "erasure_not_found", "no erasure has this id")
