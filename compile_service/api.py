"""HTTP routes of compile_service (the gateway adds the `/api` prefix). Ownership of a job
is checked once, by runtime.jobs' `OwnedJob`/`WaitedJob`; another user's resume or job
answers 404 exactly like a missing one."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, FastAPI, Header, Path, Request, Response
from fastapi.responses import StreamingResponse

from compile_service import share_files
from compile_service.domain import (
    InvalidOptions,
    UnknownTemplate,
    UnsupportedLocale,
    VersionNotAvailable,
)
from compile_service.views import TEMPLATE_NAME, CompileIn, JobOut, TemplateOut, job_out
from compile_service.wiring import Artifacts, Previews, Service, Templates, TemplateThumbnails
from runtime.downloads import content_disposition
from runtime.http import (
    ApiError,
    OrjsonResponse,
    error_response,
    error_responses,
    public_prefix,
)
from runtime.identity import CurrentUser
from runtime.jobs import (
    TERMINAL,
    CancelledJob,
    OwnedJob,
    WaitedJob,
    WaitSeconds,
    install_job_error_handlers,
)
from runtime.replica import ResumeNotFound

router = APIRouter(prefix="/compile", tags=["compile"], responses=error_responses(401, 503))
routes = APIRouter()  # the app's: these and the share files' (compile_service.share_files)


@router.get("/templates", response_model=list[TemplateOut],
            summary="Available templates: engine, whether meant for one page, options and "
                    "their defaults, and the URL of a thumbnail")
async def list_templates(renderer: Templates, request: Request,
                         _: CurrentUser) -> list[TemplateOut]:
    prefix = public_prefix(request)
    return [TemplateOut(name=t.name, engine=t.engine, description=t.description,
                        one_page=t.one_page, options=dict(t.options), languages=t.languages,
                        thumbnail=f"{prefix}/compile/templates/{t.name}/thumbnail.png")
            for t in renderer.templates.values()]


@router.get("/templates/{name}/thumbnail.png", response_class=Response,
            responses={200: {"content": {"image/png": {}},
                             "description": "A PNG of page 1 of the template on the sample "
                                            "resume, at its default options"},
                       304: {"description": "Same"},
                       404: {**error_responses(404)[404], "description": "No such template "
                             "(`template_not_found`)"},
                       **error_responses(422),
                       503: {**error_responses(503)[503], "headers": {"Retry-After": {
                           "description": "Seconds to wait", "schema": {"type": "integer"}}},
                             "description": "It cannot be made now "
                                            "(`thumbnail_unavailable`)"}},
            summary="A thumbnail of a template: page 1 of the built-in sample resume in it "
                    "(made once per template content, then served from the store)")
async def template_thumbnail(name: Annotated[str, Path(max_length=64, pattern=TEMPLATE_NAME)],
                             thumbnails: TemplateThumbnails, _: CurrentUser,
                             if_none_match: Annotated[str | None, Header()] = None) -> Response:
    thumbnail = await thumbnails.of_template(name, if_none_match)
    headers = {"ETag": thumbnail.etag, "Cache-Control": thumbnails.cache_control}
    if thumbnail.png is None:
        return Response(status_code=304, headers=headers)
    return Response(thumbnail.png, media_type="image/png", headers=headers)


# `:uuid`: `/compile/templates` is not a resume id (a POST to it is a 405)
@router.post("/{resume_id:uuid}", response_model=JobOut, status_code=202,
             responses=error_responses(404, 409, 413, 422),
             summary="Compile a resume to PDF; 202 with the job and its status URL (with "
                     "`wait`, once the job finished or the wait is up)")
async def request_compile(resume_id: UUID, request: Request, user: CurrentUser,
                          service: Service, body: Annotated[CompileIn | None, Body()] = None,
                          wait: WaitSeconds = 0) -> OrjsonResponse:
    body = body or CompileIn()
    row, _ = await service.request(user, str(resume_id), body.version, body.template,
                                   body.options)
    if wait > 0 and row.status not in TERMINAL:  # saves the editor a status request
        limit = min(wait, request.app.state.settings.job_status_max_wait_seconds)
        row = await service.jobs.wait_owned(user, row.job_id, limit) or row
    job = job_out(row, public_prefix(request), await service.ats_of(row))
    return OrjsonResponse(job.model_dump(mode="json"), status_code=202,
                          headers={"Location": job.status_url})


@router.get("/status/{job_id}", response_model=JobOut, responses=error_responses(404, 422),
            summary="A job's status; `wait` long-polls up to that many seconds for the outcome")
async def job_status(job: WaitedJob, request: Request, service: Service) -> JobOut:
    return job_out(job, public_prefix(request), await service.ats_of(job))


@router.post("/cancel/{job_id}", response_model=JobOut,
             responses={200: {"description": "The job, now `failed` with `error_code` "
                              "`cancelled`: a queued job will not run; a running one's "
                              "LaTeX is killed within half a second (a Typst render "
                              "finishes and its outcome is dropped)"},
                        404: {**error_responses(404)[404], "description": "No such job, "
                              "or another user's (`job_not_found`)"},
                        409: {**error_responses(409)[409], "description": "The job had "
                              "finished already (`job_finished`, with `job_status`); it is "
                              "left as it was"},
                        **error_responses(422)},
             summary="Stop a queued or running compile job of the caller's")
async def cancel_job(job: CancelledJob, request: Request, service: Service) -> JobOut:
    return job_out(job, public_prefix(request), await service.ats_of(job))


@router.get("/pdf/{job_id}", response_class=StreamingResponse,
            responses={200: {"content": {"application/pdf": {}}}, 304: {"description": "Same"},
                       **error_responses(404, 409, 422)},
            summary="The PDF of a succeeded job, named after the resume")
async def job_pdf(job: OwnedJob, store: Artifacts,
                  if_none_match: Annotated[str | None, Header()] = None) -> Response:
    artifact_key = (job.result or {}).get("artifact_key")
    if job.status != "succeeded" or artifact_key is None:
        raise ApiError(409, "pdf_not_ready", f"the job is {job.status}, not succeeded",
                       job_status=job.status)
    size = await store.size(artifact_key)
    if size is None:
        raise ApiError(404, "pdf_gone", "the PDF is no longer stored; compile again")
    etag = f'"{artifact_key}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=31536000, immutable"}
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    headers |= {"Content-Disposition": content_disposition(job.input["title"], "pdf", "inline"),
                "Content-Length": str(size)}
    return StreamingResponse(store.chunks(artifact_key), media_type="application/pdf",
                             headers=headers)


@router.get("/preview/{job_id}", response_class=Response,
            responses={200: {"content": {"image/png": {}},
                             "description": "A PNG of page 1 of the job's PDF"},
                       304: {"description": "Same"}, **error_responses(404, 409, 422),
                       503: {**error_responses(503)[503], "headers": {"Retry-After": {
                           "description": "Seconds to wait", "schema": {"type": "integer"}}}}},
            summary="A PNG of page 1 of a succeeded job's PDF (made on the first ask, then "
                    "cached); 409 before the job succeeded, 503 with Retry-After when it "
                    "cannot be made now")
async def job_preview(job: OwnedJob, previews: Previews,
                      if_none_match: Annotated[str | None, Header()] = None) -> Response:
    preview = await previews.of_job(job, if_none_match)
    headers = {"ETag": preview.etag, "Cache-Control": previews.cache_control}
    if preview.png is None:
        return Response(status_code=304, headers=headers)
    return Response(preview.png, media_type="image/png", headers=headers)


def install_domain_error_handlers(app: FastAPI) -> None:
    install_job_error_handlers(app)

    @app.exception_handler(ResumeNotFound)
    async def _no_resume(*_: object) -> OrjsonResponse:
        return error_response(404, "resume_not_found", "no such resume")

    @app.exception_handler(VersionNotAvailable)
    async def _no_version(_: Request, exc: VersionNotAvailable) -> OrjsonResponse:
        return error_response(409, "version_not_available",
                              "that version of the resume has not reached the compile service; "
                              "retry shortly", current_version=exc.current_version)

    @app.exception_handler(UnknownTemplate)
    async def _no_template(_: Request, exc: UnknownTemplate) -> OrjsonResponse:
        return error_response(422, "unknown_template", f"there is no template {exc}")

    @app.exception_handler(InvalidOptions)
    async def _bad_options(_: Request, exc: InvalidOptions) -> OrjsonResponse:
        return error_response(422, "invalid_options", f"invalid template options: {exc}",
                              problems=exc.problems)

    @app.exception_handler(UnsupportedLocale)
    async def _bad_locale(_: Request, exc: UnsupportedLocale) -> OrjsonResponse:
        return error_response(422, "unsupported_locale", str(exc), locale=exc.locale,
                              templates=exc.able)


routes.include_router(router)
routes.include_router(share_files.router)
