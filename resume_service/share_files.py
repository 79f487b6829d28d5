"""The files of a share (its PDF, the PNG of its page 1), asked of compile_service with a
grant (runtime.grants) once the share has been opened here: compile_service compiles the
shared version on the owner's behalf, in the share's template, without the hidden contact
fields, and streams the file back; this service relays it as it comes.

compile_service unreachable: 503 `compile_unavailable` with Retry-After; its refusals (the
template gone, the compile failed, still compiling) keep their status and code."""

from typing import Literal

import httpx
import orjson

from resume_service.shares import PublicShare
from runtime.grants import GRANT_HEADER, signed
from runtime.http import ApiError

SHARE_GRANT = "share-files"  # compile_service.share_files checks grants of this purpose
RETRY_AFTER_SECONDS = 5
FileKind = Literal["pdf", "preview.png"]


class ShareFiles:
    def __init__(self, compile_url: str, secret: str, timeout_seconds: float = 30.0) -> None:
        self.secret = secret
        self.client = httpx.AsyncClient(base_url=compile_url,
                                        timeout=httpx.Timeout(timeout_seconds, connect=2.0))

    async def aclose(self) -> None:
        await self.client.aclose()

    async def open(self, share: PublicShare, what: FileKind) -> httpx.Response:
        """compile_service's answer with the file, its body still to be read (the caller
        closes it); ApiError for anything but a file."""
        body, signature = signed(self.secret, SHARE_GRANT, {
            "owner_id": share.owner_id, "resume_id": share.resume_id,
            "version": share.version, "template": share.template, "options": share.options,
            "hidden": share.hidden})
        request = self.client.build_request(
            "POST", f"/internal/shares/{what}", content=body,
            headers={GRANT_HEADER: signature, "content-type": "application/json"})
        try:
            response = await self.client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise _unavailable() from exc
        if response.status_code != 200:
            raise await _refusal(response)
        return response


def _unavailable() -> ApiError:
    return ApiError(503, "compile_unavailable", "the share's file cannot be made now; "
                    "retry shortly", retry_after=RETRY_AFTER_SECONDS)


async def _refusal(response: httpx.Response) -> ApiError:
    try:
        error = orjson.loads(await response.aread())
    except (httpx.HTTPError, orjson.JSONDecodeError):
        error = {}
    finally:
        await response.aclose()
    if response.status_code in (401, 404) or response.status_code >= 500 or not error:
        # a grant refused or a PDF lost is this service's fault, not the visitor's
        unavailable = _unavailable()
        retry_after = response.headers.get("retry-after", "")
        if response.status_code == 503 and retry_after.isdigit():
            unavailable.details["retry_after"] = int(retry_after)
        return unavailable
    return ApiError(response.status_code, error.get("code", "share_file_refused"),
                    error.get("message", "the share's file cannot be made"))
