"""The project's own export: the whole document in the `NativeExport` envelope, which
`POST /resume/import?format=native` takes back."""

from contracts.interchange import NativeExport
from contracts.resume import ResumeDocument


def render(document: ResumeDocument) -> bytes:
    return NativeExport(document=document).model_dump_json(indent=2).encode()
