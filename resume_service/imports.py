"""Documents made from imported files: a JSON Resume document, or this project's own export
(`NativeExport`, whose document of an older schema version reads as today's: every change so
far only added fields with defaults)."""

from typing import Any, Literal

from pydantic import ValidationError

from contracts.interchange import NativeExport
from contracts.resume import ResumeDocument
from resume_service.json_resume import InvalidJsonResume, from_json_resume

ImportableFormat = Literal["json-resume", "native"]


class InvalidImport(ValueError):
    """The file is not a valid document of its format; `errors` name the failing paths."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid import")
        self.errors = errors


def imported_document(file_format: ImportableFormat, data: Any) -> ResumeDocument:
    """The document of an imported file (raises InvalidImport)."""
    try:
        if file_format == "json-resume":
            return from_json_resume(data)
        return NativeExport.model_validate(data).document
    except InvalidJsonResume as exc:
        raise InvalidImport(exc.errors) from exc
    except ValidationError as exc:
        raise InvalidImport([{"loc": list(error["loc"]), "msg": error["msg"],
                              "type": error["type"]} for error in exc.errors()]) from exc
