"""HTTP routes of live_service (the gateway adds the `/api` prefix): `GET /events`, the
signed-in user's own happenings as server-sent events. Only the caller's own feed is ever
read: the feed is chosen by the verified identity, never by anything the client sends."""

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from redis.exceptions import RedisError
from starlette.background import BackgroundTask

from live_service.feeds import ENTRY_ID
from live_service.wiring import Live
from runtime.http import ApiError, error_responses
from runtime.identity import CurrentUser

router = APIRouter(tags=["live"], responses=error_responses(401, 503))

EVENT_STREAM = "text/event-stream"
STREAM_DESCRIPTION = (
    "Server-sent events, never ending: `retry:` first, then one message per happening "
    "(`event: job` with kind, job_id, status queued/running/succeeded/failed; `event: "
    "resume` with resume_id and version; `event: share` with share_id), each with an `id:` "
    "that is its position in the user's feed (ordered, resumable with Last-Event-ID), and "
    "a `: heartbeat` comment when nothing else was sent for a while. `event: reset` first "
    "means the feed no longer holds all that was missed: refetch what you show.")


def _last_id(header: str | None, query: str | None) -> str | None:
    last_id = header if header is not None else query
    if last_id is not None and not ENTRY_ID.fullmatch(last_id):
        raise ApiError(422, "invalid_last_event_id",
                       "Last-Event-ID must be an id this stream sent (digits-digits)")
    return last_id


@router.get("/events", response_class=StreamingResponse,
            summary="Live updates of your jobs, resume saves and share views (SSE)",
            responses={200: {"content": {EVENT_STREAM: {"schema": {"type": "string"}}},
                             "description": STREAM_DESCRIPTION},
                       **error_responses(422)})
async def events(live: Live, user_id: CurrentUser,
                 last_event_id_header: Annotated[str | None, Header(
                     alias="Last-Event-ID", max_length=64)] = None,
                 last_event_id: Annotated[str | None, Query(
                     max_length=64, description="For clients that cannot set the header.")]
                 = None) -> StreamingResponse:
    stream = live.stream(user_id, _last_id(last_event_id_header, last_event_id))
    try:
        await stream.open()
    except (RedisError, TimeoutError) as exc:
        raise ApiError(503, "feed_unavailable", "live updates are unavailable; retry "
                       "shortly") from exc
    return StreamingResponse(
        stream.frames(), media_type=EVENT_STREAM, background=BackgroundTask(stream.close),
        headers={"cache-control": "no-store", "x-accel-buffering": "no"})
