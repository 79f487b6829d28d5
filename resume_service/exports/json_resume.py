"""The JSON Resume export (resume_service.json_resume says how the document maps)."""

import orjson

from contracts.resume import ResumeDocument
from resume_service.json_resume import to_json_resume


def render(document: ResumeDocument) -> bytes:
    return orjson.dumps(to_json_resume(document), option=orjson.OPT_INDENT_2)
