"""An export over HTTP: the resume, version and format a request names (the caller's resume,
else 404 as for a missing one), its ETag, and the file answer.

The ETag is known before anything is rendered (resume id, version, format, the format's
revision and the document's schema version: a version never changes), so a revalidation
with If-None-Match is answered 304 from the read-model row alone. The read session is closed
before rendering: a DOCX takes milliseconds of CPU, and it runs in a thread so the event
loop keeps serving."""

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from contracts.resume import DOCUMENT_SCHEMA_VERSION, ResumeDocument
from resume_service.domain import VersionNotFound
from resume_service.exports.formats import EXPORTERS, Exporter
from resume_service.service import OwnedRead, ResumeService
from resume_service.wiring import Service
from runtime.bounds import INT4_MAX
from runtime.downloads import content_disposition, etag_matches
from runtime.http import ApiError
from runtime.identity import CurrentUser

CACHE_CONTROL = "private, no-cache"  # the caller's own; a browser keeps it and revalidates

FormatInPath = Annotated[str, Path(alias="format", description="The file's format.",
                                   json_schema_extra={"enum": list(EXPORTERS)})]
VersionInQuery = Annotated[int | None, Query(
    ge=1, le=INT4_MAX, description="A version of the resume; the current one when absent.")]


@dataclass(frozen=True)
class ResumeExport:
    exporter: Exporter
    etag: str
    document: ResumeDocument | None  # None: the caller holds this export already


def exporter_named(name: str) -> Exporter:
    exporter = EXPORTERS.get(name)
    if exporter is None:
        raise ApiError(422, "unknown_format", f"no export format {name[:40]!r}",
                       formats=list(EXPORTERS))
    return exporter


def export_etag(resume_id: str, version: int, name: str, exporter: Exporter) -> str:
    """Changes with the version, the format's revision and the document's shape (an older
    version read through a new shape may render otherwise)."""
    return (f'"{resume_id}.v{version}.{name}.r{exporter.revision}'
            f'.s{DOCUMENT_SCHEMA_VERSION}"')


async def resume_export(resume_id: UUID, export_format: FormatInPath, user: CurrentUser,
                        service: Service, version: VersionInQuery = None,
                        if_none_match: Annotated[str | None, Header()] = None) -> ResumeExport:
    """The format is checked first, so an unknown one is a 422 whoever owns the resume."""
    exporter = exporter_named(export_format)
    async with service.owned(user, str(resume_id)) as owned:
        current = owned.row.version
        if version is not None and version > current:
            raise VersionNotFound(version)
        etag = export_etag(owned.row.id, version or current, export_format, exporter)
        if etag_matches(if_none_match, etag):
            return ResumeExport(exporter, etag, None)
        if version is None or version == current:
            document = ResumeDocument.model_validate(owned.row.document)
        else:
            document = await _old_document(service, owned, version)
    return ResumeExport(exporter, etag, document)


async def _old_document(service: ResumeService, owned: OwnedRead,
                        version: int) -> ResumeDocument:
    old = await service.at_version(owned, version)
    if old.document is None:
        raise VersionNotFound(version)
    return old.document


OwnedExport = Annotated[ResumeExport, Depends(resume_export)]


async def export_response(export: ResumeExport) -> Response:
    headers = {"ETag": export.etag, "Cache-Control": CACHE_CONTROL}
    if export.document is None:
        return Response(status_code=304, headers=headers)
    exporter = export.exporter
    body = (await run_in_threadpool(exporter.render, export.document) if exporter.in_thread
            else exporter.render(export.document))
    headers["Content-Disposition"] = content_disposition(export.document.title,
                                                         exporter.extension)
    return Response(body, media_type=exporter.media_type, headers=headers)


def openapi_content() -> dict[str, dict[str, Any]]:
    """The 200 answer's media types other than JSON (whose schema is the route's response
    model), for the route's OpenAPI."""
    return {exporter.media_type.split(";")[0]: {"schema": {
                "type": "string", **({} if exporter.media_type.startswith("text/")
                                     else {"format": "binary"})}}
            for exporter in EXPORTERS.values() if exporter.media_type != "application/json"}
