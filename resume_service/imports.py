"""Documents made from imported files: a JSON Resume document, or this project's own export
(`native`, which carries the document schema version it was written with)."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from contracts.resume import ResumeDocument
from resume_service.json_resume import InvalidJsonResume, from_json_resume

ImportableFormat = Literal["json-resume", "native"]
NATIVE_FORMAT = "resume-builder"


class NativeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["resume-builder"]
    schema_version: int
    document: dict[str, Any]


class InvalidImport(ValueError):
    """The file is not a valid document of its format; `errors` name the failing paths."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid import")
        self.errors = errors


def imported_document(file_format: ImportableFormat, data: Any) -> ResumeDocument:
    """The document of an imported file (raises InvalidImport)."""
    if file_format == "json-resume":
        try:
            return from_json_resume(data)
        except InvalidJsonResume as exc:
            raise InvalidImport(exc.errors) from exc
    native = _validated(NativeFile, data, ())
    return _validated(ResumeDocument, native.document, ("document",))


def _validated(model: type[Any], data: Any, path: tuple[str, ...]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidImport([{"loc": [*path, *error["loc"]], "msg": error["msg"],
                              "type": error["type"]} for error in exc.errors()]) from exc
