"""HTTP routes of resume_service (the gateway adds the `/api` prefix) and how its domain errors
answer.

Another user's resume answers 404 exactly like a missing one: routes that need the caller's
resume before anything else take it as `OwnedResume`; a cached read is per user (a miss loads
only the caller's resume), and a command's `decide` checks the owner under the row lock."""

import re
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, FastAPI, Header, Request, Response

from contracts.interchange import NativeExport
from contracts.json_resume import JsonResume
from contracts.resume import MAX_RESUME_BULLETS, ResumeDocument
from contracts.resume_events import ImportOrigin
from resume_service.domain import (
    CreateResume,
    DeleteResume,
    ResumeIdTaken,
    ResumeNotDeleted,
    ResumeNotFound,
    StaleVersion,
    TooManyBullets,
    UpdateResume,
    VersionNotFound,
)
from resume_service.exports.download import OwnedExport, export_response, openapi_content
from resume_service.imports import ImportableFormat, InvalidImport, imported_document
from resume_service.views import HistoryEntry, ResumeAtVersion, ResumeIn, ResumeOut, TrashedResume
from resume_service.wiring import OwnedResume, OwnedResumeVersion, Service
from runtime.bounds import INT4_MAX
from runtime.eventstore import VersionConflict
from runtime.http import ApiError, OrjsonResponse, error_response, error_responses
from runtime.identity import CurrentUser

JSON = "application/json"

router = APIRouter(prefix="/resume", tags=["resume"], responses=error_responses(401, 503))


@router.get("/all", response_model=list[ResumeOut], summary="All of the caller's resumes")
async def list_resumes(user: CurrentUser, service: Service) -> Response:
    return Response(await service.list_all(user), media_type=JSON)


@router.post("/create", response_model=ResumeOut, status_code=201,
             responses=error_responses(413, 422), summary="Create a resume with a server id")
async def create_resume(user: CurrentUser, service: Service,
                        body: Annotated[ResumeIn | None, Body()] = None) -> Response:
    document = body.document() if body else ResumeDocument()
    payload, _ = await service.execute(str(uuid4()), CreateResume(user, document))
    return Response(payload, status_code=201, media_type=JSON)


@router.post("/import", response_model=ResumeOut, status_code=201,
             responses=error_responses(413, 422),
             summary="Create a resume from a JSON Resume document or this project's export")
async def import_resume(user: CurrentUser, service: Service,
                        body: Annotated[dict[str, Any], Body(
                            description="The file: a JSON Resume document (format=json-resume) "
                            "or a native export (format=native).")],
                        format: ImportableFormat = "json-resume") -> Response:
    try:
        document = imported_document(format, body)
    except InvalidImport as exc:
        raise ApiError(422, "invalid_import", f"the file is not valid {format}",
                       fields=[_import_error(e) for e in exc.errors]) from exc
    command = CreateResume(user, document, ImportOrigin(format=format))
    payload, _ = await service.execute(str(uuid4()), command)
    return Response(payload, status_code=201, media_type=JSON)


def _import_error(error: dict[str, Any]) -> dict[str, str]:
    return {"path": ".".join(str(part) for part in error["loc"]), "message": error["msg"],
            "type": error["type"]}


@router.post("/create/{resume_id}", response_model=ResumeOut, status_code=201,
             responses={200: {"description": "Already created by this user: returned as is"},
                        **error_responses(409, 413, 422)},
             summary="Create a resume with a client-chosen UUID (idempotent)")
async def create_resume_with_id(resume_id: UUID, user: CurrentUser, service: Service,
                                body: Annotated[ResumeIn | None, Body()] = None) -> Response:
    document = body.document() if body else ResumeDocument()
    payload, created = await service.execute(str(resume_id), CreateResume(user, document))
    return Response(payload, status_code=201 if created else 200, media_type=JSON)


# `:uuid`: `/resume/create` and `/resume/all` are not a resume id (a GET of the first is a 405)
@router.get("/{resume_id:uuid}", response_model=ResumeOut, responses=error_responses(404, 422),
            summary="One resume")
async def get_resume(resume_id: UUID, user: CurrentUser, service: Service) -> Response:
    return Response(await service.get(user, str(resume_id)), media_type=JSON)


@router.put("/update/{resume_id}", response_model=ResumeOut,
            responses=error_responses(400, 404, 409, 413, 422),
            summary="Replace the document; stale expected version -> 409")
async def update_resume(resume_id: UUID, body: ResumeIn, user: CurrentUser, service: Service,
                        if_match: Annotated[str | None, Header()] = None) -> Response:
    expected = parse_if_match(if_match) if if_match else body.version
    payload, _ = await service.execute(
        str(resume_id), UpdateResume(user, body.document(), expected))
    return Response(payload, media_type=JSON)


@router.delete("/delete/{resume_id}", status_code=204, responses=error_responses(404, 422),
               summary="Delete a resume (its history stays in the event store)")
async def delete_resume(resume_id: UUID, user: CurrentUser, service: Service) -> Response:
    await service.execute(str(resume_id), DeleteResume(user))
    return Response(status_code=204)


@router.get("/trash", response_model=list[TrashedResume],
            summary="The caller's resumes deleted within the last 30 days (restorable)")
async def trash(user: CurrentUser, service: Service) -> list[TrashedResume]:
    return await service.trash(user)


@router.post("/{resume_id}/undelete", response_model=ResumeOut,
             responses=error_responses(404, 409, 422),
             summary="Undelete a resume deleted within the last 30 days (a new event; history "
                     "intact); after that, or not yours: 404; not deleted: 409")
async def undelete_resume(resume_id: UUID, user: CurrentUser, service: Service) -> Response:
    return Response(await service.undelete(user, str(resume_id)), media_type=JSON)


@router.get("/{resume_id}/history", response_model=list[HistoryEntry],
            responses=error_responses(404, 422), summary="Every version, with what changed")
async def resume_history(resume: OwnedResume, service: Service) -> list[HistoryEntry]:
    return await service.history(resume)


@router.get("/{resume_id}/versions/{version}", response_model=ResumeAtVersion,
            responses=error_responses(404, 422), summary="The resume as it was at a version")
async def resume_at_version(owned: OwnedResumeVersion, service: Service) -> ResumeAtVersion:
    return await service.at_version(owned.resume, owned.version)


@router.post("/{resume_id}/restore/{version}", response_model=ResumeOut,
             responses=error_responses(404, 409, 422),
             summary="Make an old version current again (a new event; nothing is rewritten)")
async def restore_resume(owned: OwnedResumeVersion, service: Service) -> Response:
    return Response(await service.restore(owned.resume, owned.version), media_type=JSON)


@router.get("/{resume_id}/export/{format}", response_model=NativeExport | JsonResume,
            responses={200: {"description": "The file: `native` or `json-resume` (JSON, these "
                                            "models), `markdown`, `text` or `docx`",
                             "content": openapi_content()},
                       304: {"description": "Not modified (If-None-Match)"},
                       **error_responses(404, 422)},
            summary="The resume, or one of its versions (?version=N), as a file to download; "
                    "an unknown format is a 422")
async def export_resume(export: OwnedExport) -> Response:
    return await export_response(export)


_VERSION_TAG = re.compile(r'(?:W/)?"?([0-9]{1,10})"?')


def parse_if_match(value: str) -> int:
    """The version an If-Match names; 400 unless it is one a resume can have (1..INT4_MAX;
    ASCII digits only: str.isdigit would let "²" through to a failing int())."""
    match = _VERSION_TAG.fullmatch(value.strip())
    version = int(match.group(1)) if match else 0
    if not 1 <= version <= INT4_MAX:
        raise ApiError(400, "bad_if_match", "If-Match must carry the resume version, e.g. \"3\"")
    return version


def install_domain_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ResumeNotFound)
    async def _not_found(*_: object) -> OrjsonResponse:
        return error_response(404, "resume_not_found", "no such resume")

    @app.exception_handler(VersionNotFound)
    async def _no_version(_: Request, exc: VersionNotFound) -> OrjsonResponse:
        return error_response(404, "version_not_found", f"the resume has no version {exc}")

    @app.exception_handler(StaleVersion)
    async def _stale(_: Request, exc: StaleVersion) -> OrjsonResponse:
        return error_response(409, "version_conflict", "the resume changed since you read it",
                              current_version=exc.current_version)

    @app.exception_handler(VersionConflict)  # a lost race that got past the stream lock
    async def _conflict(_: Request, exc: VersionConflict) -> OrjsonResponse:
        return error_response(409, "version_conflict", "the resume changed since you read it",
                              current_version=exc.actual)

    @app.exception_handler(ResumeNotDeleted)
    async def _not_deleted(*_: object) -> OrjsonResponse:
        return error_response(409, "resume_not_deleted", "the resume is not deleted")

    @app.exception_handler(TooManyBullets)
    async def _too_many(_: Request, exc: TooManyBullets) -> OrjsonResponse:
        return error_response(422, "too_many_bullets", str(exc), count=exc.count,
                              limit=MAX_RESUME_BULLETS)

    @app.exception_handler(ResumeIdTaken)
    async def _taken(*_: object) -> OrjsonResponse:
        return error_response(409, "resume_id_taken", "that id is already in use")
